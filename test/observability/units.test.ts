import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/config.js';
import { FastHistogram, LATENCY_BUCKETS, Metrics, parseNvidiaSmi } from '../../src/observability/metrics.js';
import { otlpEndpointOf } from '../../src/observability/observability-config.js';
import { PayloadLogger } from '../../src/observability/payload-logger.js';
import { requestIdOf } from '../../src/observability/http-observability.js';
import { protocolOfRoute } from '../../src/protocols/http/route-facts.js';
import { SlidingWindow } from '../../src/observability/sliding-window.js';
import { ModelRouter } from '../../src/serving/model-router.js';
import { parseProm, value } from './prom-text.js';

describe('observability units', () => {
  it('config: defaults, and unknown keys refused', () => {
    const c = parseConfig({}, 'test');
    assert.equal(c.observability.metrics.enabled, true);
    assert.equal(c.observability.metrics.mainPort, true);
    assert.equal(c.observability.requestLog.level, 'debug');
    assert.equal(c.observability.payloadLogger.maxBytes, 16384);
    assert.equal(c.observability.tracing.otlpEndpoint, undefined);
    const off = parseConfig({ observability: { metrics: { enabled: false, port: 9090 } } }, 'test');
    assert.equal(off.observability.metrics.enabled, false);
    assert.equal(off.observability.metrics.port, 9090);
    assert.throws(() => parseConfig({ observability: { metrics: { bogus: 1 } } }, 'test'), /observability\.metrics\.bogus: unknown field/);
    assert.equal(otlpEndpointOf(c.observability, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }), 'http://collector:4318/v1/traces');
    assert.equal(otlpEndpointOf(c.observability, {}), undefined);
  });

  it('latency buckets span 50µs to 60s and the histogram counts into the first bucket that fits', () => {
    assert.equal(LATENCY_BUCKETS[0], 0.00005);
    assert.equal(LATENCY_BUCKETS.at(-1), 60);
    const h = new FastHistogram(LATENCY_BUCKETS);
    for (const v of [0.00001, 0.00005, 0.0003, 2, 61]) h.observe(v);
    assert.equal(h.count, 5);
    assert.equal(h.counts[0], 2);
    assert.equal(h.counts.reduce((a, b) => a + b, 0), 4, '61s only in +Inf');
  });

  it('one registry per Metrics, no global side effects; unknown models share one fixed series', async () => {
    const a = new Metrics({ router: new ModelRouter(), processMetrics: false, gpu: false });
    const b = new Metrics({ router: new ModelRouter(), processMetrics: false, gpu: false });
    const ep = { namespace: 'ns', name: 'm', revisionName: 'm-predictor-00001' };
    a.seriesFor(ep, 'v2').done(200, 0.001);
    a.seriesFor(ep, 'v2').done(400, 0.001, 'invalid_input');
    a.seriesFor(undefined, 'v1').done(404, 0.0001, 'not_found');
    a.seriesFor(undefined, 'v1').done(404, 0.0001, 'not_found');
    const sa = parseProm(await a.render());
    const sb = parseProm(await b.render());
    assert.equal(value(sa, 'inferd_requests_total', { namespace: 'ns', model: 'm', protocol: 'v2', code: '200' }), 1);
    assert.equal(value(sa, 'inferd_request_errors_total', { model: 'm', class: 'invalid_input' }), 1);
    assert.equal(value(sa, 'inferd_requests_total', { model: '_unknown', protocol: 'v1', code: '404' }), 2);
    assert.equal(value(sa, 'request_predict_seconds_count', { model_name: 'm' }), 2);
    assert.equal(value(sb, 'inferd_requests_total'), 0);
    assert.equal(a.seriesFor(ep, 'v2'), a.seriesFor(ep, 'v2'), 'the series is cached per endpoint and protocol');
  });

  it('sliding window: rps, errors and percentiles over the window only', () => {
    let now = 1_000_000;
    const w = new SlidingWindow(60_000, () => now);
    for (let i = 1; i <= 100; i++) w.record(i / 1000, i > 95);
    let s = w.snapshot();
    assert.equal(s.requests, 100);
    assert.equal(s.errors, 5);
    assert.ok(Math.abs(s.p50! - 0.05) / 0.05 < 0.1, `p50 ${s.p50}`);
    assert.ok(Math.abs(s.p95! - 0.095) / 0.095 < 0.1, `p95 ${s.p95}`);
    assert.ok(Math.abs(s.p99! - 0.099) / 0.099 < 0.1, `p99 ${s.p99}`);
    now += 61_000;
    s = w.snapshot();
    assert.equal(s.requests, 0);
    assert.equal(s.p50, null);
  });

  it('payload logger: redacts secret-looking keys, cuts at maxBytes, never copies non-JSON bytes', () => {
    const p = new PayloadLogger({ maxBytes: 60, redactKeys: ['password', 'token', 'api_key'], maxPending: 10, timeoutMs: 1000 }, pino({ level: 'silent' }));
    const roomy = new PayloadLogger({ maxBytes: 4096, redactKeys: ['password', 'token', 'api_key'], maxPending: 10, timeoutMs: 1000 }, pino({ level: 'silent' }));
    const enc = roomy.encode(JSON.stringify({ a: 1, nested: { Password: 'hunter2', list: [{ access_token: 'abc' }] } }));
    assert.equal(enc.json, true);
    assert.ok(!enc.data.includes('hunter2') && !enc.data.includes('abc'));
    assert.deepEqual(JSON.parse(enc.data), { a: 1, nested: { Password: '[redacted]', list: [{ access_token: '[redacted]' }] } });
    const big = p.encode(JSON.stringify({ data: 'x'.repeat(500) }));
    assert.equal(big.truncated, true);
    assert.equal(Buffer.byteLength(big.data), 60);
    const bin = p.encode(Buffer.from([0, 1, 2, 3, 0xff]));
    assert.equal(bin.json, false);
    assert.equal(bin.data, '[5 bytes, not JSON]');
  });

  it('request ids and inference routes', () => {
    assert.equal(requestIdOf({ headers: { 'x-request-id': 'abc-123' } }), 'abc-123');
    assert.match(requestIdOf({ headers: { 'x-request-id': 'x'.repeat(200) } }), /^[0-9a-f-]{36}$/);
    assert.match(requestIdOf({ headers: { 'x-request-id': 'a"b' } }), /^[0-9a-f-]{36}$/);
    assert.equal(protocolOfRoute('POST', '/v2/models/:name/infer'), 'v2');
    assert.equal(protocolOfRoute('POST', '/v2/models/:name/versions/:version/infer'), 'v2');
    assert.equal(protocolOfRoute('POST', '/v1/models/:name(^[^:/]+)::predict'), 'v1');
    assert.equal(protocolOfRoute('POST', '/openai/v1/chat/completions'), 'openai');
    assert.equal(protocolOfRoute('GET', '/v2/models/:name'), null);
    assert.equal(protocolOfRoute('POST', '/apis/inferd.dev/v1/apply'), null);
  });

  it('nvidia-smi output parses into GPU rows', () => {
    const rows = parseNvidiaSmi('0, GPU-abc, 37, 1024, 81559\n1, GPU-def, 0, 3, 81559\n');
    assert.deepEqual(rows[0], { index: '0', uuid: 'GPU-abc', util: 37, memUsedMiB: 1024, memTotalMiB: 81559 });
    assert.equal(rows.length, 2);
  });
});
