/** Reads a joblib or pickle model file into plain data: detects compression, then runs the safe pickle VM. */
import { readFile, stat } from 'node:fs/promises';
import { gunzipSync, inflateSync } from 'node:zlib';
import { DecodeBudget } from '../decode-budget.js';
import { bad, type PyVal } from './py-values.js';
import { Cursor, DEFAULT_LIMITS, readPickle, type PickleLimits } from './pickle-reader.js';

export const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;

export interface ReadResult {
  value: PyVal;
  /** Decompressed size: the bytes the model's arrays can occupy. */
  bytes: number;
  compression: 'none' | 'zlib' | 'gzip';
}

const UNSUPPORTED: readonly [number[], string][] = [
  [[0x42, 0x5a], 'bz2'],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a], 'xz'],
  [[0x5d, 0x00], 'lzma'],
  [[0x04, 0x22, 0x4d, 0x18], 'lz4'],
];

function startsWith(buf: Uint8Array, magic: readonly number[]): boolean {
  return magic.every((b, i) => buf[i] === b);
}

/** Identifies the container and returns the raw pickle stream. */
export function unwrap(buf: Uint8Array, maxBytes: number): { pickle: Uint8Array; compression: ReadResult['compression'] } {
  if (buf.byteLength === 0) throw bad('model file is empty');
  if (buf[0] === 0x80) return { pickle: buf, compression: 'none' };
  if (buf[0] === 0x78) return { pickle: inflate(() => inflateSync(buf, { maxOutputLength: maxBytes }), 'zlib', maxBytes), compression: 'zlib' };
  if (startsWith(buf, [0x1f, 0x8b])) return { pickle: inflate(() => gunzipSync(buf, { maxOutputLength: maxBytes }), 'gzip', maxBytes), compression: 'gzip' };
  for (const [magic, name] of UNSUPPORTED) {
    if (startsWith(buf, magic)) {
      throw bad(`model file is ${name}-compressed joblib, which the sklearn runtime does not read; re-save it with joblib.dump(model, path, compress=('zlib', 3)) or without compression`);
    }
  }
  if (startsWith(buf, [0x5a, 0x46])) throw bad('model file uses the joblib < 0.10 "ZF" format; re-save it with a current joblib');
  if (startsWith(buf, [0x50, 0x4b, 0x03, 0x04])) throw bad('model file is a zip archive, not a pickle or joblib file');
  if (startsWith(buf, [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59])) throw bad('model file is a .npy array, not a pickle or joblib file');
  throw bad(`model file is not a pickle (protocol 2 to 5) or joblib file: it starts with bytes ${Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')}`);
}

function inflate(run: () => Buffer, kind: string, maxBytes: number): Uint8Array {
  let out: Buffer;
  try {
    out = run();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/maxOutputLength|Cannot create a Buffer larger/i.test(msg) || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw bad(`${kind}-compressed model expands beyond the limit of ${maxBytes} bytes`);
    }
    throw bad(`${kind}-compressed model file is corrupt or truncated: ${msg.slice(0, 200)}`);
  }
  if (out.byteLength === 0 || out[0] !== 0x80) throw bad(`${kind}-compressed model file does not hold a pickle`);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Parses a model file held in memory. */
export function readModelBytes(buf: Uint8Array, maxBytes = DEFAULT_MAX_BYTES, limits: PickleLimits = DEFAULT_LIMITS, budget = new DecodeBudget()): ReadResult {
  if (buf.byteLength > maxBytes) throw bad(`model file of ${buf.byteLength} bytes exceeds the limit of ${maxBytes}`);
  const { pickle, compression } = unwrap(buf, maxBytes);
  // The pickle stays referenced by the arrays read from it: it is part of what the model holds.
  budget.charge(pickle.byteLength, 'file');
  const value = readPickle(new Cursor(pickle), { limits, joblib: true, budget });
  return { value, bytes: pickle.byteLength, compression };
}

export async function readModelFile(path: string, maxBytes = DEFAULT_MAX_BYTES, budget = new DecodeBudget()): Promise<ReadResult> {
  const info = await stat(path);
  if (info.size > maxBytes) throw bad(`model file of ${info.size} bytes exceeds the limit of ${maxBytes} (SKLEARN_MAX_MODEL_BYTES)`);
  return readModelBytes(new Uint8Array(await readFile(path)), maxBytes, DEFAULT_LIMITS, budget);
}
