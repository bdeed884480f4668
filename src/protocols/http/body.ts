import { invalidInput } from '../../api/errors.js';

export const HEADER_LENGTH = 'inference-header-content-length';

/** Parses a JSON body, answering 400 with the parser's complaint rather than a crash. */
export function parseJson(buf: Buffer | undefined): unknown {
  if (!buf || buf.length === 0) throw invalidInput('request body is empty; expected JSON', 'body');
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw invalidInput(`malformed JSON: ${(err as Error).message}`, 'body');
  }
}

/**
 * Splits a body that uses the binary tensor data extension into its JSON header
 * and the binary part that follows it.
 */
export function splitBinaryBody(buf: Buffer | undefined, headerLength: string | undefined): { json: unknown; binary?: Uint8Array } {
  if (headerLength === undefined) return { json: parseJson(buf) };
  const n = Number(headerLength);
  const size = buf?.length ?? 0;
  if (!/^\d+$/.test(headerLength) || n > size) {
    throw invalidInput(`Inference-Header-Content-Length ${JSON.stringify(headerLength)} is not a length within the ${size}-byte body`, 'Inference-Header-Content-Length');
  }
  return { json: parseJson(buf!.subarray(0, n)), binary: buf!.subarray(n) };
}
