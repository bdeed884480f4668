import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';
import { MANIFESTS, assertClose, expected, postJson } from '../helpers/fixtures.js';

describe('V2 REST against a real inferd serve', () => {
  let srv: InferdProcess;
  before(async () => {
    srv = await startInferd(['-f', join(MANIFESTS, 'onnx-models.yaml'), '--config', join(MANIFESTS, 'inferd-config.yaml')]);
    await waitReady(srv.http);
  });
  after(async () => {
    assert.equal(await srv.stop(), 0, 'inferd exits 0 on SIGTERM');
  });

  it('serves server metadata, liveness, readiness and model metadata', async () => {
    const meta = (await (await fetch(`${srv.http}/v2`)).json()) as { name: string; extensions: string[] };
    assert.equal(meta.name, 'inferd');
    assert.ok(meta.extensions.includes('binary_tensor_data'));
    assert.deepEqual(await (await fetch(`${srv.http}/v2/health/live`)).json(), { live: true });
    assert.deepEqual(await (await fetch(`${srv.http}/v2/models/mlp/ready`)).json(), { name: 'mlp', ready: true });
    const m = (await (await fetch(`${srv.http}/v2/models/multi-io`)).json()) as Record<string, unknown>;
    assert.deepEqual(m.inputs, [
      { name: 'a', datatype: 'FP32', shape: [-1, 3] },
      { name: 'b', datatype: 'INT64', shape: [-1, 3] },
    ]);
    assert.deepEqual((m.outputs as Array<{ name: string; datatype: string }>).map((o) => `${o.name}:${o.datatype}`), ['sum:FP32', 'doubled:INT64', 'positive:BOOL']);
    assert.equal(m.platform, 'onnxruntime_onnx');
    const versioned = await fetch(`${srv.http}/v2/models/mlp/versions/1`);
    assert.equal(versioned.status, 200);
  });

  it('matches numpy on a dynamic-batch MLP, flat and nested data, echoing the id', async () => {
    const e = expected('mlp');
    const flat = await postJson(`${srv.http}/v2/models/mlp/infer`, {
      id: 'req-42',
      inputs: [{ name: 'input', datatype: 'FP32', shape: e.inputs.input!.shape, data: e.inputs.input!.data }],
    });
    assert.equal(flat.status, 200, JSON.stringify(flat.body));
    assert.equal(flat.body.id, 'req-42');
    assert.equal(flat.body.model_name, 'mlp');
    const out = flat.body.outputs[0];
    assert.deepEqual([out.name, out.datatype, out.shape], ['probabilities', 'FP32', [5, 3]]);
    assertClose(out.data, e.outputs.probabilities!.data, 1e-5);
    const rows = [];
    for (let i = 0; i < 5; i++) rows.push(e.inputs.input!.data.slice(i * 4, i * 4 + 4));
    const nested = await postJson(`${srv.http}/v2/models/mlp/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [5, 4], data: rows }] });
    assert.deepEqual(nested.body.outputs[0].data, out.data);
    assert.equal(nested.body.id, undefined);
  });

  it('handles several inputs and outputs of different datatypes, and requested outputs', async () => {
    const e = expected('multi-io');
    const inputs = [
      { name: 'a', datatype: 'FP32', shape: e.inputs.a!.shape, data: e.inputs.a!.data },
      { name: 'b', datatype: 'INT64', shape: e.inputs.b!.shape, data: e.inputs.b!.data },
    ];
    const all = await postJson(`${srv.http}/v2/models/multi-io/infer`, { inputs });
    assert.equal(all.status, 200, JSON.stringify(all.body));
    const byName = Object.fromEntries(all.body.outputs.map((o: { name: string }) => [o.name, o]));
    assertClose(byName.sum.data, e.outputs.sum!.data, 1e-6);
    assert.deepEqual(byName.doubled.data, e.outputs.doubled!.data);
    assert.deepEqual(byName.positive.data, e.outputs.positive!.data);
    assert.equal(byName.positive.datatype, 'BOOL');
    const some = await postJson(`${srv.http}/v2/models/multi-io/infer`, { inputs, outputs: [{ name: 'doubled' }] });
    assert.deepEqual(some.body.outputs.map((o: { name: string }) => o.name), ['doubled']);
  });

  it('computes FP64 exactly on a fixed-shape model served from a pvc:// URI', async () => {
    const e = expected('fixed-matmul');
    const res = await postJson(`${srv.http}/v2/models/fixed-matmul/infer`, {
      inputs: [{ name: 'x', datatype: 'FP64', shape: [2, 2], data: e.inputs.x!.data }],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertClose(res.body.outputs[0].data, e.outputs.y!.data, 1e-15);
  });

  it('round-trips every datatype through JSON', async () => {
    const cases: Record<string, unknown[]> = {
      uint8: [0, 255], int8: [-128, 127], int16: [-32768, 32767], uint16: [0, 65535], int32: [-2147483648, 2147483647],
      uint32: [0, 4294967295], uint64: [0, 9007199254740991], fp16: [1.5, -0.25], bool: [true, false], bytes: ['héllo', ''],
    };
    const inputs = Object.entries(cases).map(([t, data]) => ({ name: `in_${t}`, datatype: t.toUpperCase(), shape: [2], data }));
    const res = await postJson(`${srv.http}/v2/models/identity-types/infer`, { inputs });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    for (const o of res.body.outputs as Array<{ name: string; datatype: string; data: unknown[] }>) {
      const t = o.name.slice(4);
      assert.equal(o.datatype, t.toUpperCase());
      assert.deepEqual(o.data, cases[t], o.name);
    }
  });

  it('accepts binary inputs and returns binary outputs (binary tensor data extension)', async () => {
    const e = expected('multi-io');
    const a = new Float32Array(e.inputs.a!.data as number[]);
    const b = BigInt64Array.from((e.inputs.b!.data as number[]).map(BigInt));
    const header = Buffer.from(JSON.stringify({
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: a.byteLength } },
        { name: 'b', datatype: 'INT64', shape: [2, 3], parameters: { binary_data_size: b.byteLength } },
      ],
      outputs: [{ name: 'doubled', parameters: { binary_data: true } }, { name: 'positive' }],
    }));
    const res = await fetch(`${srv.http}/v2/models/multi-io/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, Buffer.from(a.buffer), Buffer.from(b.buffer)]),
    });
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    const jsonLen = Number(res.headers.get('inference-header-content-length'));
    const head = JSON.parse(body.subarray(0, jsonLen).toString()) as { outputs: Array<{ name: string; data?: unknown; parameters?: { binary_data_size: number } }> };
    const doubled = head.outputs.find((o) => o.name === 'doubled')!;
    assert.equal(doubled.parameters!.binary_data_size, 48);
    assert.equal(doubled.data, undefined);
    const raw = body.subarray(jsonLen, jsonLen + 48);
    const values = Array.from(new BigInt64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + 48)), Number);
    assert.deepEqual(values, e.outputs.doubled!.data);
    assert.deepEqual(head.outputs.find((o) => o.name === 'positive')!.data, e.outputs.positive!.data);
  });

  it('carries BYTES and FP16 in binary form with binary_data_output', async () => {
    const strings = ['ab', 'ü', ''];
    const parts = strings.map((s) => {
      const b = Buffer.from(s);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      return Buffer.concat([len, b]);
    });
    const bytes = Buffer.concat(parts);
    const half = Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x3555]).buffer); // 1, -2, ~0.333
    const others = ['uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'uint64', 'bool'].map((t) => ({ name: `in_${t}`, datatype: t.toUpperCase(), shape: [3], data: t === 'bool' ? [true, true, false] : [1, 2, 3] }));
    const header = Buffer.from(JSON.stringify({
      parameters: { binary_data_output: true },
      inputs: [
        { name: 'in_bytes', datatype: 'BYTES', shape: [3], parameters: { binary_data_size: bytes.length } },
        { name: 'in_fp16', datatype: 'FP16', shape: [3], parameters: { binary_data_size: half.length } },
        ...others,
      ],
      outputs: [{ name: 'out_bytes' }, { name: 'out_fp16' }],
    }));
    const res = await fetch(`${srv.http}/v2/models/identity-types/infer`, {
      method: 'POST',
      headers: { 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, bytes, half]),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = Buffer.from(await res.arrayBuffer());
    const jsonLen = Number(res.headers.get('inference-header-content-length'));
    const head = JSON.parse(body.subarray(0, jsonLen).toString()) as { outputs: Array<{ parameters: { binary_data_size: number } }> };
    assert.equal(head.outputs[0]!.parameters.binary_data_size, bytes.length);
    assert.ok(body.subarray(jsonLen, jsonLen + bytes.length).equals(bytes));
    assert.ok(body.subarray(jsonLen + bytes.length).equals(half));
  });
});
