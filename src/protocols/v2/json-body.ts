/**
 * JSON for V2 request bodies, parsed from the bytes without JSON.parse's boxing of every
 * tensor element: arrays of numbers under a `data` key become `JsonNumbers` (a Float64Array),
 * everything else the plain values JSON.parse gives. A 1,024-float row parses in half the
 * time of JSON.parse and leaves no heap number for the collector.
 *
 * Anything this parser does not accept (malformed JSON, very deep nesting) is handed to
 * JSON.parse, so error messages and edge cases stay JSON.parse's own.
 */

const WS = new Uint8Array(256);
for (const c of [0x20, 0x0a, 0x0d, 0x09]) WS[c] = 1;

/** 10^0 … 10^22: the powers of ten that doubles hold exactly. */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
/** Relative error of a 16–19 digit mantissa accumulated in doubles, with a wide margin (see toFloat32). */
const APPROX = 2 ** -48;
const EMPTY = new Float64Array(0);
/** Largest first allocation for an array of numbers (512 KB); longer rows grow by doubling. */
const MAX_GUESS = 1 << 16;
/** Deeper than this the recursion stops and JSON.parse (iterative) takes the body. */
const MAX_DEPTH = 512;

/** Thrown inside the parser to hand the body to JSON.parse: one shared object, no stack trace. */
const GIVE_UP = Object.freeze({ giveUp: true });

/** Where an array's numbers come from: exact doubles, or the text to read again. */
type Source = Float64Array | { buf: Buffer; start: number; end: number };

/**
 * A JSON array of numbers. `values` holds each number as a double: exactly when `exact`,
 * else within a relative 2^-48 of it (mantissas of 16 to 19 digits, as Python writes a
 * float32 widened to float64); `exactValues()` re-reads the text where that is not enough.
 */
export class JsonNumbers {
  constructor(
    readonly values: Float64Array,
    readonly exact: boolean,
    /** Row by row, what `exactValues()` reads when `exact` is false. */
    private readonly sources: readonly Source[],
  ) {}

  get length(): number {
    return this.values.length;
  }

  /** The numbers as JSON.parse reads them. */
  exactValues(): Float64Array {
    if (this.exact) return this.values;
    const out = new Float64Array(this.values.length);
    let at = 0;
    for (const src of this.sources) {
      // Numeric text is ASCII: latin1 reads it as written.
      const part = src instanceof Float64Array ? src : (JSON.parse(src.buf.toString('latin1', src.start, src.end)) as number[]);
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  /**
   * As float32, identical to `Math.fround` of the exact doubles: rounding to float32 is
   * monotonic, so when the approximation moved up and down by its error bound rounds to one
   * float32, the exact value does too; only a number that close to a float32 rounding
   * boundary (about one in ten million) needs the text re-read.
   */
  toFloat32(): Float32Array {
    const v = this.values;
    if (!this.exact) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i]!;
        if (Math.fround(x * (1 + APPROX)) !== Math.fround(x * (1 - APPROX))) return new Float32Array(this.exactValues());
      }
    }
    return new Float32Array(v);
  }

  /** Row-major concatenation of nested rows (`[[...],[...]]`). */
  static concat(parts: readonly JsonNumbers[]): JsonNumbers {
    if (parts.length === 1) return parts[0]!;
    const total = parts.reduce((n, p) => n + p.length, 0);
    const values = new Float64Array(total);
    let at = 0;
    for (const p of parts) {
      values.set(p.values, at);
      at += p.length;
    }
    return new JsonNumbers(values, parts.every((p) => p.exact), parts.flatMap((p) => (p.exact ? [p.values] : p.sources)));
  }
}

/** Parses `buf` as JSON (see the module comment). Throws JSON.parse's error for malformed input. */
export function parseRequestJson(buf: Buffer): unknown {
  const p = new Parser(buf);
  try {
    const v = p.value(0, false);
    p.skipWs();
    if (p.i !== buf.length) throw GIVE_UP;
    return v;
  } catch (err) {
    if (err !== GIVE_UP) throw err;
    return JSON.parse(buf.toString('utf8'));
  }
}

class Parser {
  i = 0;
  private readonly end: number;
  constructor(private readonly b: Buffer) {
    this.end = b.length;
  }

  skipWs(): void {
    const b = this.b;
    while (this.i < this.end && WS[b[this.i]!] === 1) this.i++;
  }

  value(depth: number, inData: boolean): unknown {
    this.skipWs();
    if (this.i >= this.end) throw GIVE_UP;
    const c = this.b[this.i]!;
    if (c === 0x7b) return this.object(depth + 1);
    if (c === 0x5b) return inData ? this.dataArray(depth + 1) : this.array(depth + 1, false);
    if (c === 0x22) return this.string();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (c === 0x74) return this.literal('true', true);
    if (c === 0x66) return this.literal('false', false);
    if (c === 0x6e) return this.literal('null', null);
    throw GIVE_UP;
  }

  /** `open element (, element)* close`, the cursor on `open`; `element` reads one at the cursor. */
  private elements(close: number, element: () => void): void {
    const b = this.b;
    this.i++;
    this.skipWs();
    if (b[this.i] === close) {
      this.i++;
      return;
    }
    for (;;) {
      element();
      this.skipWs();
      const c = b[this.i++];
      if (c === 0x2c) continue;
      if (c === close) return;
      throw GIVE_UP;
    }
  }

  private object(depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) throw GIVE_UP;
    const o: Record<string, unknown> = {};
    this.elements(0x7d, () => {
      this.skipWs();
      if (this.b[this.i] !== 0x22) throw GIVE_UP;
      const key = this.string();
      this.skipWs();
      if (this.b[this.i] !== 0x3a) throw GIVE_UP;
      this.i++;
      const v = this.value(depth, key === 'data');
      // JSON.parse makes "__proto__" an own property; assignment would set the prototype.
      if (key === '__proto__') Object.defineProperty(o, key, { value: v, writable: true, enumerable: true, configurable: true });
      else o[key] = v;
    });
    return o;
  }

  private array(depth: number, inData: boolean): unknown[] {
    if (depth > MAX_DEPTH) throw GIVE_UP;
    const a: unknown[] = [];
    this.elements(0x5d, () => a.push(this.value(depth, inData)));
    return a;
  }

  /** Tensor data: a run of numbers becomes JsonNumbers; nested rows and other element types stay arrays. */
  private dataArray(depth: number): unknown {
    const start = this.i;
    const numbers = this.numbers();
    if (numbers) return numbers;
    this.i = start;
    return this.array(depth, true);
  }

  /** `[n, n, …]` with at least one number, or undefined (position unspecified) for anything else. */
  private numbers(): JsonNumbers | undefined {
    const b = this.b;
    const start = this.i;
    this.i++;
    let values = EMPTY;
    let n = 0;
    let exact = true;
    for (;;) {
      let c = b[this.i];
      if (c !== undefined && WS[c] === 1) {
        this.skipWs();
        c = b[this.i];
      }
      if (c !== 0x2d && !(c !== undefined && c >= 0x30 && c <= 0x39)) return undefined;
      const at = this.i;
      const next = scanNumber(b, at);
      if (next < 0) return undefined;
      this.i = next;
      if (n === 0) {
        // Sized from the first number's width and where the array can end, so a row of
        // similar numbers fills one allocation; capped, so a hostile body cannot make the
        // guess allocate a multiple of its own size before failing to be an array of numbers.
        const close = b.indexOf(0x5d, at);
        const guess = Math.ceil(((close < 0 ? this.end : close) - at) / (this.i - at + 1) * 1.25);
        values = new Float64Array(Math.min(MAX_GUESS, Math.max(16, guess)));
      } else if (n === values.length) {
        const grown = new Float64Array(n * 2);
        grown.set(values);
        values = grown;
      }
      values[n++] = scanned.num;
      if (!scanned.exact) exact = false;
      let d = b[this.i];
      if (d !== 0x2c && d !== 0x5d) {
        this.skipWs();
        d = b[this.i];
      }
      this.i++;
      if (d === 0x2c) continue;
      if (d === 0x5d) break;
      return undefined;
    }
    return new JsonNumbers(values.subarray(0, n), exact, exact ? [] : [{ buf: b, start, end: this.i }]);
  }

  private number(): number {
    const start = this.i;
    const next = scanNumber(this.b, start);
    if (next < 0) throw GIVE_UP;
    this.i = next;
    return scanned.exact ? scanned.num : Number(this.b.toString('latin1', start, next));
  }

  private string(): string {
    const b = this.b;
    const end = this.end;
    const start = ++this.i;
    let i = start;
    let escaped = false;
    let ascii = true;
    for (;;) {
      if (i >= end) throw GIVE_UP;
      const c = b[i]!;
      if (c === 0x22) break;
      if (c === 0x5c) {
        escaped = true;
        i += 2;
        continue;
      }
      if (c < 0x20) throw GIVE_UP;
      if (c >= 0x80) ascii = false;
      i++;
    }
    this.i = i + 1;
    if (escaped) {
      try {
        return JSON.parse(b.toString('utf8', start - 1, i + 1)) as string;
      } catch {
        throw GIVE_UP;
      }
    }
    return b.toString(ascii ? 'latin1' : 'utf8', start, i);
  }

  private literal<T>(word: string, value: T): T {
    // Past the end of the buffer a byte reads as undefined and fails the comparison.
    for (let k = 0; k < word.length; k++) if (this.b[this.i + k] !== word.charCodeAt(k)) throw GIVE_UP;
    this.i += word.length;
    return value;
  }
}

/** scanNumber's result: one reused object rather than a new one per number. */
const scanned = { num: 0, exact: true };

/**
 * One number in JSON's grammar. Up to 15 significant digits with a decimal exponent
 * within ±22 are exact (both operands are exact doubles and one division or multiplication
 * rounds once); 16–19 digits are close (see JsonNumbers); the rest are read by Number().
 * Returns the position after it (-1 when it is not a number); the value goes to `scanned`.
 */
function scanNumber(b: Buffer, i: number): number {
  const start = i;
  const neg = b[i] === 0x2d;
  if (neg) i++;
  let c = b[i];
  let m = 0;
  let digits = 0;
  let exp = 0;
  if (c === 0x30) c = b[++i];
  else if (c !== undefined && c >= 0x31 && c <= 0x39) {
    do {
      m = m * 10 + (c - 0x30);
      digits++;
      c = b[++i];
    } while (c !== undefined && c >= 0x30 && c <= 0x39);
  } else return -1;
  if (c === 0x2e) {
    c = b[++i];
    if (c === undefined || c < 0x30 || c > 0x39) return -1;
    do {
      m = m * 10 + (c - 0x30);
      if (m !== 0) digits++;
      exp--;
      c = b[++i];
    } while (c !== undefined && c >= 0x30 && c <= 0x39);
  }
  if (c === 0x65 || c === 0x45) {
    c = b[++i];
    let sign = 1;
    if (c === 0x2d || c === 0x2b) {
      if (c === 0x2d) sign = -1;
      c = b[++i];
    }
    if (c === undefined || c < 0x30 || c > 0x39) return -1;
    let e = 0;
    do {
      if (e < 1e6) e = e * 10 + (c - 0x30);
      c = b[++i];
    } while (c !== undefined && c >= 0x30 && c <= 0x39);
    exp += sign * e;
  }
  if (digits > 19 || exp < -22 || exp > 22) {
    scanned.num = Number(b.toString('latin1', start, i));
    scanned.exact = true;
    return i;
  }
  const v = exp < 0 ? m / POW10[-exp]! : m * POW10[exp]!;
  scanned.num = neg ? -v : v;
  scanned.exact = digits <= 15;
  return i;
}
