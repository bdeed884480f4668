import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';
import { postJson } from '../helpers/fixtures.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
}

describe('tracing: OTLP/HTTP export of edge, queue and runtime spans with W3C traceparent', () => {
  let collector: Server;
  let srv: InferdProcess;
  const spans: OtlpSpan[] = [];
  const contentTypes: string[] = [];

  before(async () => {
    collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        contentTypes.push(String(req.headers['content-type']));
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
          for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        } catch {
          // Not JSON (a protobuf exporter): the test below fails on missing spans.
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', () => r()));
    const port = (collector.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'inferd-tracing-'));
    writeFileSync(join(dir, 'config.yaml'), `observability:\n  tracing: {otlpEndpoint: "http://127.0.0.1:${port}/v1/traces"}\n`);
    srv = await startInferd(['-f', join(REPO_ROOT, 'examples/demo'), '--config', join(dir, 'config.yaml')]);
    await waitReady(srv.http);
  });
  after(async () => {
    await srv?.stop();
    collector?.close();
  });

  it('continues the caller trace: edge span is a child of traceparent, queue and runtime spans are children of the edge', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = '00f067aa0ba902b7';
    const body = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] };
    const res = await postJson(`${srv.http}/v2/models/demo-mlp/infer`, body, { traceparent: `00-${traceId}-${parent}-01` });
    assert.equal(res.status, 200);
    const end = Date.now() + 15_000;
    while (Date.now() < end && !(spans.some((s) => s.name === 'runtime') && spans.some((s) => s.name.startsWith('POST')))) await new Promise((r) => setTimeout(r, 100));
    const mine = spans.filter((s) => s.traceId === traceId);
    const edge = mine.find((s) => s.name === 'POST /v2/models/:name/infer');
    assert.ok(edge, `edge span exported; got ${JSON.stringify(spans.map((s) => s.name))} (${contentTypes.join(', ')})`);
    assert.equal(edge.parentSpanId, parent);
    const queue = mine.find((s) => s.name === 'queue');
    const runtime = mine.find((s) => s.name === 'runtime');
    assert.ok(queue && runtime, 'queue and runtime spans');
    assert.equal(queue.parentSpanId, edge.spanId);
    assert.equal(runtime.parentSpanId, edge.spanId);
    assert.ok(BigInt(runtime.startTimeUnixNano) >= BigInt(queue.startTimeUnixNano));
    assert.ok(BigInt(runtime.endTimeUnixNano) <= BigInt(edge.endTimeUnixNano));
    const attrs = Object.fromEntries((edge.attributes ?? []).map((a) => [a.key, Object.values(a.value)[0]]));
    assert.equal(attrs['inferd.model'], 'demo-mlp');
    assert.equal(String(attrs['http.response.status_code']), '200');
  });
});
