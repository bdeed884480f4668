import { invalidInput, quote } from '../../api/errors.js';
import { parseRequestJson } from '../v2/json-body.js';

export const HEADER_LENGTH = 'inference-header-content-length';

const jsonParse = (buf: Buffer): unknown => JSON.parse(buf.toString('utf8'));

/** Parses a JSON body, answering 400 with the parser's complaint rather than a crash. */
export function parseJson(buf: Buffer | undefined, parse = jsonParse): unknown {
  if (!buf || buf.length === 0) throw invalidInput('request body is empty; expected JSON', 'body');
  try {
    return parse(buf);
  } catch (err) {
    throw invalidInput(`malformed JSON: ${quote((err as Error).message, 200)}`, 'body');
  }
}

/**
 * A V2 request body as JSON (tensor data read straight into typed arrays, see json-body.ts),
 * split from the binary part that follows it when the binary tensor data extension is used.
 */
export function splitBinaryBody(buf: Buffer | undefined, headerLength: string | undefined): { json: unknown; binary?: Uint8Array } {
  if (headerLength === undefined) return { json: parseJson(buf, parseRequestJson) };
  const n = Number(headerLength);
  const size = buf?.length ?? 0;
  if (!/^\d+$/.test(headerLength) || n > size) {
    throw invalidInput(`Inference-Header-Content-Length ${quote(JSON.stringify(headerLength))} is not a length within the ${size}-byte body`, 'Inference-Header-Content-Length');
  }
  return { json: parseJson(buf!.subarray(0, n), parseRequestJson), binary: buf!.subarray(n) };
}
