import { invalidInput } from '../api/errors.js';

export interface JsonLimits {
  maxJsonDepth: number;
  maxStringBytes: number;
}

/**
 * One linear pass over a JSON text's bytes before it is parsed: nesting deeper than
 * `maxJsonDepth` or a string longer than `maxStringBytes` is refused with 400, so a
 * small body cannot make later recursive code (validation, logging, stringify)
 * overflow the stack or a single string take the memory. Not a validator: malformed
 * JSON passes through to the parser, which explains it.
 */
export function checkJsonLimits(buf: Uint8Array, limits: JsonLimits, end = buf.length): void {
  if (end <= limits.maxStringBytes && !moreOpenersThan(buf, end, limits.maxJsonDepth)) return;
  let depth = 0;
  let inString = false;
  let strStart = 0;
  for (let i = 0; i < end; i++) {
    const c = buf[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) {
        inString = false;
        if (i - strStart > limits.maxStringBytes) throw invalidInput(`a JSON string of ${i - strStart} bytes exceeds the limit of ${limits.maxStringBytes}`, 'body');
      }
      continue;
    }
    if (c === 0x22) {
      inString = true;
      strStart = i + 1;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limits.maxJsonDepth) throw invalidInput(`JSON nested deeper than ${limits.maxJsonDepth} levels`, 'body');
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  if (inString && end - strStart > limits.maxStringBytes) throw invalidInput(`a JSON string of ${end - strStart} bytes exceeds the limit of ${limits.maxStringBytes}`, 'body');
}

const OPENERS = [0x5b, 0x7b];

/**
 * Whether `buf[0, end)` holds more than `n` bytes `[` or `{`: when it does not, no nesting
 * can be deeper than `n`, and a body of numbers (a V2 tensor) skips the byte-by-byte pass.
 * Buffer#indexOf searches natively: 20 KB of numbers in about a microsecond instead of 30.
 */
function moreOpenersThan(buf: Uint8Array, end: number, n: number): boolean {
  const b = Buffer.from(buf.buffer, buf.byteOffset, end);
  let count = 0;
  for (const opener of OPENERS) {
    for (let at = b.indexOf(opener); at >= 0; at = b.indexOf(opener, at + 1)) if (++count > n) return true;
  }
  return false;
}
