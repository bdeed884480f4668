/** Bounds-checked reading of a pickle byte stream. */
import { bad } from './py-values.js';

const latin1 = new TextDecoder('latin1');

/** A read position shared between a pickle stream and the joblib array data that follows it. */
export class Cursor {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  take(n: number, what: string): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.buf.byteLength - this.pos) {
      throw bad(`pickle is truncated or corrupt: ${what} declares ${Number.isFinite(n) ? n : "more than 2^53"} bytes at offset ${this.pos}, ${this.buf.byteLength - this.pos} remain`);
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u8(what: string): number {
    return this.take(1, what)[0]!;
  }
  view(n: number, what: string): DataView {
    const b = this.take(n, what);
    return new DataView(b.buffer, b.byteOffset, n);
  }
  u32(what: string): number {
    return this.view(4, what).getUint32(0, true);
  }
  u64(what: string): number {
    const v = this.view(8, what).getBigUint64(0, true);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
  }
  line(what: string): string {
    const end = this.buf.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > 512) throw bad(`pickle is truncated or corrupt: unterminated ${what}`);
    const s = latin1.decode(this.buf.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
}
