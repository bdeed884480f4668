/**
 * A small Universal Binary JSON (draft 12) decoder, enough for XGBoost's `.ubj`
 * models: big-endian numbers, strongly typed optimized arrays (`[$d#L…`) decoded
 * straight into typed arrays. Every length is checked against the bytes left, and
 * nesting is bounded, so a corrupt file fails with UbjsonError, never a hang or a
 * huge allocation.
 */
export class UbjsonError extends Error {}

export type UbjValue =
  | null | boolean | number | bigint | string
  | UbjValue[] | Int8Array | Uint8Array | Int16Array | Int32Array | Float32Array | Float64Array | BigInt64Array
  | { [key: string]: UbjValue };

const MAX_DEPTH = 128;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUbjson(bytes: Uint8Array): UbjValue {
  const r = new Reader(bytes);
  const v = r.value(r.marker(), 0);
  return v;
}

class Reader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.bytes.length) throw new UbjsonError(`truncated at byte ${this.pos}`);
  }

  marker(): number {
    for (;;) {
      this.need(1);
      const m = this.bytes[this.pos++]!;
      if (m !== 0x4e /* N no-op */) return m;
    }
  }

  private int(m: number): number {
    switch (m) {
      case 0x69: this.need(1); return this.view.getInt8(this.pos++);
      case 0x55: this.need(1); return this.view.getUint8(this.pos++);
      case 0x49: { this.need(2); const v = this.view.getInt16(this.pos); this.pos += 2; return v; }
      case 0x6c: { this.need(4); const v = this.view.getInt32(this.pos); this.pos += 4; return v; }
      case 0x4c: {
        this.need(8);
        const v = this.view.getBigInt64(this.pos);
        this.pos += 8;
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw new UbjsonError('integer too large');
        return Number(v);
      }
      default: throw new UbjsonError(`expected an integer marker at byte ${this.pos - 1}, got 0x${m.toString(16)}`);
    }
  }

  private length(): number {
    const n = this.int(this.marker());
    if (n < 0) throw new UbjsonError(`negative length at byte ${this.pos}`);
    return n;
  }

  private string(): string {
    const n = this.length();
    this.need(n);
    try {
      return utf8.decode(this.bytes.subarray(this.pos, (this.pos += n)));
    } catch {
      throw new UbjsonError('string is not valid UTF-8');
    }
  }

  value(m: number, depth: number): UbjValue {
    switch (m) {
      case 0x5a: return null; // Z
      case 0x54: return true; // T
      case 0x46: return false; // F
      case 0x69: case 0x55: case 0x49: case 0x6c: case 0x4c: return this.int(m);
      case 0x64: { this.need(4); const v = this.view.getFloat32(this.pos); this.pos += 4; return v; }
      case 0x44: { this.need(8); const v = this.view.getFloat64(this.pos); this.pos += 8; return v; }
      case 0x43: this.need(1); return String.fromCharCode(this.bytes[this.pos++]!); // C
      case 0x53: return this.string(); // S
      case 0x48: { // H: high-precision number as a string
        const s = this.string();
        const v = Number(s);
        if (Number.isNaN(v)) throw new UbjsonError('invalid high-precision number');
        return v;
      }
      case 0x5b: return this.array(depth + 1);
      case 0x7b: return this.object(depth + 1);
      default: throw new UbjsonError(`unknown marker 0x${m.toString(16)} at byte ${this.pos - 1}`);
    }
  }

  /** Reads an optional `$type#count` header after `[` or `{`. */
  private containerHeader(): { type?: number; count?: number } {
    this.need(1);
    let type: number | undefined;
    if (this.bytes[this.pos] === 0x24) { // $
      this.pos++;
      this.need(1);
      type = this.bytes[this.pos++]!;
      this.need(1);
      if (this.bytes[this.pos] !== 0x23) throw new UbjsonError('typed container without a count');
    }
    this.need(1);
    if (this.bytes[this.pos] === 0x23) { // #
      this.pos++;
      return { type, count: this.length() };
    }
    return { type };
  }

  private array(depth: number): UbjValue {
    if (depth > MAX_DEPTH) throw new UbjsonError('nesting too deep');
    const { type, count } = this.containerHeader();
    if (count !== undefined) {
      if (type !== undefined) {
        const typed = this.typedArray(type, count);
        if (typed) return typed;
        // Other element types: one value each, no markers.
        if (count > this.bytes.length - this.pos + 1) throw new UbjsonError('array count exceeds the file');
        const out: UbjValue[] = [];
        for (let i = 0; i < count; i++) out.push(this.value(type, depth));
        return out;
      }
      // Each element takes at least one byte.
      if (count > this.bytes.length - this.pos) throw new UbjsonError('array count exceeds the file');
      const out: UbjValue[] = [];
      for (let i = 0; i < count; i++) out.push(this.value(this.marker(), depth));
      return out;
    }
    const out: UbjValue[] = [];
    for (;;) {
      const m = this.marker();
      if (m === 0x5d) return out;
      out.push(this.value(m, depth));
    }
  }

  private typedArray(type: number, count: number): UbjValue | undefined {
    const sizes: Record<number, number> = { 0x69: 1, 0x55: 1, 0x49: 2, 0x6c: 4, 0x4c: 8, 0x64: 4, 0x44: 8 };
    const size = sizes[type];
    if (size === undefined) return undefined;
    this.need(count * size);
    const v = this.view;
    const p = this.pos;
    this.pos += count * size;
    switch (type) {
      case 0x69: return Int8Array.from(this.bytes.subarray(p, p + count), (b) => (b << 24) >> 24);
      case 0x55: return this.bytes.slice(p, p + count);
      case 0x49: { const a = new Int16Array(count); for (let i = 0; i < count; i++) a[i] = v.getInt16(p + 2 * i); return a; }
      case 0x6c: { const a = new Int32Array(count); for (let i = 0; i < count; i++) a[i] = v.getInt32(p + 4 * i); return a; }
      case 0x4c: { const a = new BigInt64Array(count); for (let i = 0; i < count; i++) a[i] = v.getBigInt64(p + 8 * i); return a; }
      case 0x64: { const a = new Float32Array(count); for (let i = 0; i < count; i++) a[i] = v.getFloat32(p + 4 * i); return a; }
      default: { const a = new Float64Array(count); for (let i = 0; i < count; i++) a[i] = v.getFloat64(p + 8 * i); return a; }
    }
  }

  private object(depth: number): UbjValue {
    if (depth > MAX_DEPTH) throw new UbjsonError('nesting too deep');
    const { type, count } = this.containerHeader();
    const out: { [key: string]: UbjValue } = Object.create(null) as { [key: string]: UbjValue };
    if (count !== undefined) {
      if (count > this.bytes.length - this.pos) throw new UbjsonError('object count exceeds the file');
      for (let i = 0; i < count; i++) {
        const key = this.string();
        out[key] = this.value(type ?? this.marker(), depth);
      }
      return out;
    }
    for (;;) {
      this.need(1);
      if (this.bytes[this.pos] === 0x7d) { this.pos++; return out; }
      if (this.bytes[this.pos] === 0x4e) { this.pos++; continue; }
      const key = this.string();
      out[key] = this.value(this.marker(), depth);
    }
  }
}
