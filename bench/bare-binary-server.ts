/**
 * The least a binary-V2 server can do for a heavy ONNX model: bare `node:http`, the binary
 * tensor extension's JSON header and raw FP32 bytes, onnxruntime-node runs in this process,
 * the output as raw bytes. No framework, queue bound, deadline, auth, metrics or validation:
 * the floor under inferd's own work for the conv row. Prints its port.
 *
 * `bare-binary-server.js <model.onnx> <intraOpThreads>`. onnxruntime-node runs a session on
 * the calling thread (its `run` is synchronous inside a promise), so this server reads no
 * request while the model computes; inferd's replicas compute on worker threads.
 */
import type { ServerResponse } from 'node:http';
import { serveBodies } from './bare-http.js';
import * as ort from 'onnxruntime-node';

interface Header {
  inputs: Array<{ name: string; shape: number[] }>;
}

const session = await ort.InferenceSession.create(process.argv[2]!, { intraOpNumThreads: Number(process.argv[3] ?? 1), interOpNumThreads: 1 });

async function infer(body: Buffer, headerLength: number, res: ServerResponse): Promise<void> {
  const { inputs } = JSON.parse(body.subarray(0, headerLength).toString()) as Header;
  // The tensor in place where its offset allows a Float32Array view, else copied once.
  const bytes = body.subarray(headerLength);
  const data = bytes.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) : new Float32Array(new Uint8Array(bytes).buffer);
  const input = inputs[0]!;
  const results = await session.run({ [input.name]: new ort.Tensor('float32', data, input.shape) });
  const raw = Object.values(results).map(({ data }) => Buffer.from((data as Float32Array).buffer, (data as Float32Array).byteOffset, (data as Float32Array).byteLength));
  const outputs = Object.entries(results).map(([name, t], i) => ({ name, datatype: 'FP32', shape: t.dims, parameters: { binary_data_size: raw[i]!.length } }));
  const head = Buffer.from(JSON.stringify({ model_name: 'x', outputs }));
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'inference-header-content-length': head.length, 'content-length': head.length + raw.reduce((n, b) => n + b.length, 0) });
  for (const b of [head, ...raw]) res.write(b);
  res.end();
}

serveBodies((body, req, res) => void infer(body, Number(req.headers['inference-header-content-length']), res));
