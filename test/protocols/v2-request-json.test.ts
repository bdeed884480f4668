import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { JsonNumbers, parseRequestJson } from '../../src/protocols/v2/json-body.js';
import { decodeInferRequest } from '../../src/protocols/v2/rest-codec.js';
import { splitBinaryBody } from '../../src/protocols/http/body.js';

/** JsonNumbers as the plain arrays JSON.parse gives, so both parsers' results compare directly. */
function plain(v: unknown): unknown {
  if (v instanceof JsonNumbers) return Array.from(v.exactValues());
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) Object.defineProperty(o, k, { value: plain(x), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return v;
}

function bothWays(text: string): { fast: unknown; reference: unknown } {
  let reference: unknown;
  let fast: unknown;
  try {
    reference = { ok: JSON.parse(text) };
  } catch (err) {
    reference = { error: (err as Error).message };
  }
  try {
    fast = { ok: plain(parseRequestJson(Buffer.from(text))) };
  } catch (err) {
    fast = { error: (err as Error).message };
  }
  return { fast, reference };
}

/** Numbers as clients write them: shortest doubles, float32 widened (17 digits), fixed and exponent forms. */
const numberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x)),
  fc.float({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x)),
  fc.tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: 1, max: 21 })).map(([x, p]) => x.toPrecision(p)),
  fc.tuple(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: 0, max: 20 }), fc.constantFrom('e', 'E+', 'e+')).map(([x, p, e]) => x.toExponential(p).replace('e+', e)),
  fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }).map(String),
  fc.constantFrom('0', '-0', '0.0', '1e400', '-1e400', '1e-400', '4.9e-324', '1.7976931348623157e308', '0.1', '123456789012345678901234567890', '0.000000000000000000000000001'),
);

describe('V2 request JSON, parsed from the bytes', () => {
  it('gives JSON.parse values (or its error) for any JSON text, with data arrays under any key', () => {
    const json = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify({ data: v, inputs: [{ data: v, x: [v] }] }));
    fc.assert(fc.property(json, (text) => {
      const { fast, reference } = bothWays(text);
      assert.deepEqual(fast, reference);
    }), { numRuns: 400 });
  });

  it('reads every way of writing a number exactly as JSON.parse does, and as float32 as Math.fround of it', () => {
    fc.assert(fc.property(fc.array(numberText, { minLength: 1, maxLength: 60 }), fc.constantFrom('', ' ', '\n\t'), (nums, ws) => {
      const text = `{"data":[${ws}${nums.join(`${ws},${ws}`)}${ws}]}`;
      const expected = JSON.parse(text) as { data: number[] };
      const got = parseRequestJson(Buffer.from(text)) as { data: JsonNumbers };
      assert.ok(got.data instanceof JsonNumbers);
      assert.deepEqual(Array.from(got.data.exactValues()), expected.data);
      assert.deepEqual(Array.from(got.data.toFloat32()), Array.from(Float32Array.from(expected.data)));
    }), { numRuns: 500 });
  });

  it('rounds decimals next to a float32 rounding boundary the way Math.fround of the exact double does', () => {
    const near = fc.tuple(fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-3e38), max: Math.fround(3e38) }), fc.integer({ min: -6, max: 6 }));
    fc.assert(fc.property(fc.array(near, { minLength: 1, maxLength: 20 }), (pairs) => {
      const texts = pairs.map(([f, k]) => {
        // The double halfway between f and its float32 neighbour, moved by k units in the last place.
        const f32 = new Float32Array([f, 0]);
        const bits = new Uint32Array(f32.buffer);
        bits[1] = bits[0]! + 1;
        const f64 = new Float64Array([(f32[0]! + f32[1]!) / 2]);
        new BigInt64Array(f64.buffer)[0]! += BigInt(k);
        return Number.isFinite(f64[0]!) ? f64[0]!.toPrecision(17) : '0';
      });
      const text = `{"data":[${texts.join(',')}]}`;
      const expected = (JSON.parse(text) as { data: number[] }).data;
      const got = (parseRequestJson(Buffer.from(text)) as { data: JsonNumbers }).data;
      assert.deepEqual(Array.from(got.toFloat32()), Array.from(Float32Array.from(expected)));
    }), { numRuns: 300 });
  });

  it('answers malformed text with JSON.parse own error, whatever was cut, doubled or inserted', () => {
    const base = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1.5, -2e-7, 0.30000001192092896] }], parameters: { s: 'h\u00e9\\"' } });
    const edit = fc.tuple(fc.nat(base.length - 1), fc.nat(3), fc.constantFrom('', ',', '[', ']', '{', '}', '"', '-', '.', 'e', '0', '01', ' ', '\u0001', '\\', 'tru', 'nul'));
    fc.assert(fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
      let text = base;
      for (const [at, del, ins] of edits) text = text.slice(0, at) + ins + text.slice(at + del);
      const { fast, reference } = bothWays(text);
      assert.deepEqual(fast, reference);
    }), { numRuns: 1500 });
  });

  it('reads rows longer than its first allocation, and short numbers after a long first one', () => {
    const long = Array.from({ length: 200_000 }, (_, i) => (i % 7) - 3 + i / 8);
    const mixed = [0.30000001192092896, ...Array.from({ length: 300 }, (_, i) => i)];
    for (const row of [long, mixed]) {
      const got = (parseRequestJson(Buffer.from(JSON.stringify({ data: row }))) as { data: JsonNumbers }).data;
      assert.deepEqual(Array.from(got.exactValues()), row);
    }
  });

  it('keeps "__proto__" an own property and never touches the prototype', () => {
    const v = parseRequestJson(Buffer.from('{"__proto__":{"polluted":true},"data":[1,2]}')) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.keys(v), ['__proto__', 'data']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('stops at the JSON header of a binary-extension body even when the bytes after it look like numbers', () => {
    // Read on past the header, `…"n":7` + `5}` would be a valid body with n = 75.
    const head = Buffer.from('{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,2]}],"n":7');
    const body = Buffer.concat([head, Buffer.from('5}')]);
    assert.throws(() => splitBinaryBody(body, String(head.length)), /malformed JSON/);
    const ok = Buffer.from('{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}}],"n":7}');
    const split = splitBinaryBody(Buffer.concat([ok, Buffer.from(new Float32Array([3, 4]).buffer)]), String(ok.length));
    assert.equal((split.json as { n: number }).n, 7);
  });

  it('decodes to the same tensors as JSON.parse, flat or in rows, for every datatype, and refuses the same bad data', () => {
    const limits = { maxTensorElements: 1 << 20, maxBytesElements: 1 << 20 };
    const cases: Array<{ datatype: string; shape: number[]; data: unknown }> = [
      { datatype: 'FP32', shape: [2, 3], data: [[0.1, 0.2, 0.30000001192092896], [1e-40, -3.4028234663852886e38, 7]] },
      { datatype: 'FP32', shape: [2, 2], data: [1, 2, 3, 4] },
      { datatype: 'FP64', shape: [3], data: [0.1, 0.12345678901234568, 1e300] },
      { datatype: 'FP64', shape: [3, 2], data: [[1, 2], [0.1, 0.12345678901234568], [3, 0.30000001192092896]] },
      { datatype: 'BYTES', shape: [2, 1], data: [['a'], ['b']] },
      { datatype: 'FP32', shape: [2, 2], data: [['a', 1], [2, 3]] },
      { datatype: 'INT64', shape: [2], data: [9007199254740993, -5] },
      { datatype: 'INT8', shape: [2], data: [127, -128] },
      { datatype: 'INT8', shape: [2], data: [128, 0] },
      { datatype: 'UINT8', shape: [2], data: [1.5, 2] },
      { datatype: 'FP16', shape: [2], data: [0.1, 65504] },
      { datatype: 'BOOL', shape: [2], data: [true, 1] },
      { datatype: 'BYTES', shape: [2], data: ['a', 'b'] },
      { datatype: 'FP32', shape: [2, 2], data: [[1, 2], [3, 'x']] },
      { datatype: 'FP32', shape: [2], data: [[1], [2]] },
      { datatype: 'FP32', shape: [3], data: [1, 2] },
      { datatype: 'FP32', shape: [1, 2], data: [[[1, 2]]] },
    ];
    for (const c of cases) {
      const text = JSON.stringify({ inputs: [{ name: 'x', ...c }] });
      const run = (json: unknown) => {
        try {
          return { ok: decodeInferRequest(json, undefined, limits).inputs[0] };
        } catch (err) {
          return { error: (err as Error).message };
        }
      };
      assert.deepEqual(run(parseRequestJson(Buffer.from(text))), run(JSON.parse(text)), text);
    }
  });
});
