import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import SnappyJS from 'snappyjs';
import { InferdError } from '../../api/errors.js';
import { crc32c, unmaskCrc } from './crc32c.js';
import { decodeBundleEntry, decodeBundleHeader, dtypeName, num, shapeDims, type BundleEntryMsg } from './tf-proto.js';

/**
 * Reader for TensorFlow's TensorBundle checkpoints (`variables.index` + `variables.data-*`).
 * The index is a LevelDB-format table (tensorflow/core/lib/io/table*.cc): data blocks of
 * prefix-compressed key/value entries, each followed by a type byte (0 raw, 1 Snappy) and a
 * masked CRC32C; an index block of block handles; a 48-byte footer ending in a magic number.
 * Keys are checkpoint keys, values `BundleEntryProto`s; the empty key holds the header.
 */

export const TABLE_MAGIC = 0xdb4775248b80fb57n;
export const FOOTER_SIZE = 48;
export const BLOCK_TRAILER_SIZE = 5;

export interface BundleEntry {
  key: string;
  dtype: string;
  shape: number[];
  shard: number;
  offset: number;
  size: number;
  crc32c: number;
}

function corrupt(file: string, what: string): InferdError {
  return new InferdError('invalid_input', `checkpoint ${file} is corrupt: ${what}; re-export the SavedModel or restore the file`);
}

class Cursor {
  constructor(readonly bytes: Uint8Array, public pos: number, private readonly file: string) {}
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.bytes.length) throw corrupt(this.file, 'truncated varint');
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw corrupt(this.file, 'varint too long');
  }
}

interface Handle { offset: number; size: number }

function readHandle(c: Cursor): Handle {
  return { offset: c.varint(), size: c.varint() };
}

/** Reads one block, checking its CRC and decompressing it when it is Snappy-compressed. */
function readBlock(table: Uint8Array, h: Handle, file: string): Uint8Array {
  if (h.offset + h.size + BLOCK_TRAILER_SIZE > table.length) throw corrupt(file, `block at ${h.offset} runs past the end of the file (truncated?)`);
  const withType = table.subarray(h.offset, h.offset + h.size + 1);
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const stored = unmaskCrc(view.getUint32(h.offset + h.size + 1, true));
  if (crc32c(withType) !== stored) throw corrupt(file, `CRC32C mismatch in the block at offset ${h.offset}`);
  const raw = table.subarray(h.offset, h.offset + h.size);
  const type = table[h.offset + h.size]!;
  if (type === 0) return raw;
  if (type === 1) {
    try {
      return SnappyJS.uncompress(raw) as Uint8Array;
    } catch (err) {
      throw corrupt(file, `bad Snappy data in the block at offset ${h.offset}: ${(err as Error).message}`);
    }
  }
  throw corrupt(file, `unknown block compression type ${type}`);
}

/** Decodes a block's entries (shared-prefix keys) in order. */
export function blockEntries(block: Uint8Array, file: string): Array<{ key: Uint8Array; value: Uint8Array }> {
  if (block.length < 4) throw corrupt(file, 'block too short');
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const numRestarts = view.getUint32(block.length - 4, true);
  const limit = block.length - 4 - 4 * numRestarts;
  if (limit < 0) throw corrupt(file, 'bad restart count');
  const out: Array<{ key: Uint8Array; value: Uint8Array }> = [];
  const c = new Cursor(block.subarray(0, limit), 0, file);
  let prev = new Uint8Array(0);
  while (c.pos < limit) {
    const shared = c.varint();
    const nonShared = c.varint();
    const valueLen = c.varint();
    if (shared > prev.length || c.pos + nonShared + valueLen > limit) throw corrupt(file, 'bad block entry');
    const key = new Uint8Array(shared + nonShared);
    key.set(prev.subarray(0, shared));
    key.set(c.bytes.subarray(c.pos, c.pos + nonShared), shared);
    c.pos += nonShared;
    const value = c.bytes.subarray(c.pos, c.pos + valueLen);
    c.pos += valueLen;
    out.push({ key, value });
    prev = key;
  }
  return out;
}

/** Every key/value of a LevelDB-format table, in key order. */
export function readTable(table: Uint8Array, file: string): Array<{ key: Uint8Array; value: Uint8Array }> {
  if (table.length < FOOTER_SIZE) throw corrupt(file, `${table.length} bytes is shorter than a table footer (truncated?)`);
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const magic = view.getBigUint64(table.length - 8, true);
  if (magic !== TABLE_MAGIC) throw corrupt(file, 'no table magic number at the end (truncated or not a checkpoint index)');
  const footer = new Cursor(table.subarray(table.length - FOOTER_SIZE), 0, file);
  readHandle(footer); // metaindex: unused by TensorBundle
  const indexHandle = readHandle(footer);
  const index = blockEntries(readBlock(table, indexHandle, file), file);
  const out: Array<{ key: Uint8Array; value: Uint8Array }> = [];
  for (const { value } of index) {
    const h = readHandle(new Cursor(value, 0, file));
    out.push(...blockEntries(readBlock(table, h, file), file));
  }
  return out;
}

const utf8 = new TextDecoder();

export class TensorBundle {
  private readonly shards = new Map<number, Uint8Array>();

  private constructor(
    readonly prefix: string,
    readonly entries: Map<string, BundleEntry>,
    readonly numShards: number,
  ) {}

  /** Opens `<dir>/variables/variables.index`; data shards are read lazily. */
  static async open(prefix: string): Promise<TensorBundle> {
    const file = `${prefix}.index`;
    const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new InferdError('invalid_input', `cannot read checkpoint index ${file}: ${err.code ?? err.message}`);
    });
    const table = readTable(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
    const entries = new Map<string, BundleEntry>();
    let numShards = 1;
    for (const { key, value } of table) {
      const name = utf8.decode(key);
      if (name === '') {
        const header = decodeBundleHeader(value);
        numShards = header.num_shards ?? 1;
        if ((header.endianness ?? 0) !== 0) throw corrupt(file, 'big-endian checkpoints are not supported');
        continue;
      }
      let e: BundleEntryMsg;
      try {
        e = decodeBundleEntry(value);
      } catch (err) {
        throw corrupt(file, `entry "${name}" does not decode: ${(err as Error).message}`);
      }
      if (e.slices && e.slices.length > 0) {
        throw new InferdError('invalid_input', `checkpoint ${file}: "${name}" is a partitioned variable, which inferd does not restore`);
      }
      entries.set(name, {
        key: name,
        dtype: dtypeName(e.dtype),
        shape: shapeDims(e.shape) ?? [],
        shard: e.shard_id ?? 0,
        offset: num(e.offset),
        size: num(e.size),
        crc32c: e.crc32c ?? 0,
      });
    }
    return new TensorBundle(prefix, entries, numShards);
  }

  /** The raw little-endian bytes of one tensor, checked against the entry's CRC32C. */
  async read(key: string): Promise<{ entry: BundleEntry; bytes: Uint8Array }> {
    const entry = this.entries.get(key);
    if (!entry) throw new InferdError('invalid_input', `checkpoint ${this.prefix} has no tensor "${key}"`);
    const shard = await this.shard(entry.shard);
    if (entry.offset + entry.size > shard.length) {
      throw corrupt(this.shardFile(entry.shard), `"${key}" runs past the end of the data file (truncated?)`);
    }
    const bytes = shard.subarray(entry.offset, entry.offset + entry.size);
    // String tensors are checksummed over their lengths and elements; inferd never restores them.
    if (entry.dtype !== 'DT_STRING' && crc32c(bytes) !== unmaskCrc(entry.crc32c)) {
      throw corrupt(this.shardFile(entry.shard), `CRC32C mismatch for "${key}"`);
    }
    return { entry, bytes };
  }

  private shardFile(i: number): string {
    const pad = (n: number) => String(n).padStart(5, '0');
    return `${this.prefix}.data-${pad(i)}-of-${pad(this.numShards)}`;
  }

  private async shard(i: number): Promise<Uint8Array> {
    let s = this.shards.get(i);
    if (!s) {
      const file = this.shardFile(i);
      const buf = await readFile(file).catch((err: NodeJS.ErrnoException) => {
        throw new InferdError('invalid_input', `cannot read checkpoint data ${file}: ${err.code ?? err.message}`);
      });
      s = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      this.shards.set(i, s);
    }
    return s;
  }
}

export function variablesPrefix(dir: string): string {
  return join(dir, 'variables', 'variables');
}
