import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { HEADER_LENGTH, splitBinaryBody } from '../../src/protocols/http/body.js';
import { installErrorHandling } from '../../src/protocols/http/errors.js';
import { readBody } from '../../src/protocols/http/read-body.js';
import { decodeRaw } from '../../src/protocols/v2/binary-tensor.js';
import { createLogger } from '../../src/observability/logger.js';

const LIMIT = 4096;

/** A server that reads bodies as inferd does and answers what the binary part decoded to. */
function server() {
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (req, payload, done) => readBody(req, payload, LIMIT, done));
  installErrorHandling(app, createLogger('silent'));
  app.post('/echo', async (req) => {
    const header = req.headers[HEADER_LENGTH];
    const { json, binary } = splitBinaryBody(req.body as Buffer, typeof header === 'string' ? header : undefined);
    if (!binary) return { json };
    const data = decodeRaw('FP64', binary, binary.byteLength / 8, 'x') as Float64Array;
    return { json, values: Array.from(data), view: data.buffer === (req.body as Buffer).buffer };
  });
  return app;
}

describe('request body reading', () => {
  it('decodes the binary part in place whatever the JSON header length (no copy for alignment)', async () => {
    const app = server();
    const values = [1.5, -2.25, 3e300, Number.MIN_VALUE];
    const data = Buffer.from(new Float64Array(values).buffer);
    for (let extra = 0; extra < 9; extra++) {
      const head = Buffer.from(JSON.stringify({ pad: 'x'.repeat(extra) }));
      const r = await app.inject({ method: 'POST', url: '/echo', payload: Buffer.concat([head, data]), headers: { 'content-type': 'application/octet-stream', [HEADER_LENGTH]: String(head.length) } });
      assert.equal(r.statusCode, 200, r.body);
      const out = r.json() as { json: { pad: string }; values: number[]; view: boolean };
      assert.deepEqual(out.values, values, `header of ${head.length} bytes`);
      assert.equal(out.json.pad.length, extra);
      assert.equal(out.view, true, `header of ${head.length} bytes: the tensor is a view of the body`);
    }
    await app.close();
  });

  it('refuses a body over the limit (413) by its Content-Length and, without one, by what arrives', async () => {
    const app = server();
    const big = Buffer.alloc(LIMIT + 1, 0x20);
    const declared = await app.inject({ method: 'POST', url: '/echo', payload: big, headers: { 'content-type': 'application/json' } });
    assert.equal(declared.statusCode, 413, declared.body);
    const chunked = await app.inject({ method: 'POST', url: '/echo', payload: Readable.from([big.subarray(0, 2000), big.subarray(2000)]), headers: { 'content-type': 'application/json' } });
    assert.equal(chunked.statusCode, 413, chunked.body);
    const fits = await app.inject({ method: 'POST', url: '/echo', payload: Readable.from([Buffer.from('{"a":'), Buffer.from('[1,2]}')]), headers: { 'content-type': 'application/json' } });
    assert.equal(fits.statusCode, 200, fits.body);
    assert.deepEqual(fits.json(), { json: { a: [1, 2] } });
    await app.close();
  });

  it('answers 400 when the body is longer or shorter than its Content-Length', async () => {
    const app = server();
    for (const length of ['5', '50']) {
      const r = await app.inject({ method: 'POST', url: '/echo', payload: Readable.from([Buffer.from('{"a":1}'), Buffer.from('          ')]), headers: { 'content-type': 'application/json', 'content-length': length } });
      assert.equal(r.statusCode, 400, `Content-Length ${length}: ${r.body}`);
    }
    await app.close();
  });

  it('refuses an Inference-Header-Content-Length beyond the body with a message naming the header', async () => {
    const app = server();
    const r = await app.inject({ method: 'POST', url: '/echo', payload: Buffer.from('{"a":1}'), headers: { 'content-type': 'application/octet-stream', [HEADER_LENGTH]: '99' } });
    assert.equal(r.statusCode, 400);
    assert.match(r.body, /Inference-Header-Content-Length/);
    await app.close();
  });
});
