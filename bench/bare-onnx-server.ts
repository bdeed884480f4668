/**
 * The least a V2 server can do for an ONNX model: bare `node:http`, JSON.parse, one
 * onnxruntime-node run, JSON.stringify. No framework, queue bound, deadline, auth, metrics or
 * validation: the floor under inferd's own work. Prints its port.
 *
 * `bare-onnx-server.js <model.onnx> [maxBatch] [intraOpThreads]`: with maxBatch above 1,
 * requests that arrive while a run is in flight are stacked along the first dimension into the
 * next run (at most maxBatch rows), the least dynamic batching can be.
 */
import type { ServerResponse } from 'node:http';
import { serveBodies } from './bare-http.js';
import * as ort from 'onnxruntime-node';

interface Input {
  name: string;
  shape: number[];
  data: number[];
}
interface Pending {
  inputs: Input[];
  res: ServerResponse;
}

const maxBatch = Number(process.argv[3] ?? 1);
const session = await ort.InferenceSession.create(process.argv[2]!, { intraOpNumThreads: Number(process.argv[4] ?? 1), interOpNumThreads: 1 });
const queue: Pending[] = [];
let running = false;

function runNext(): void {
  if (running || queue.length === 0) return;
  const batch: Pending[] = [];
  let rows = 0;
  while (queue.length && rows + queue[0]!.inputs[0]!.shape[0]! <= maxBatch) {
    rows += queue[0]!.inputs[0]!.shape[0]!;
    batch.push(queue.shift()!);
  }
  if (batch.length === 0) batch.push(queue.shift()!);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [i, t] of batch[0]!.inputs.entries()) {
    const data = Float32Array.from(batch.flatMap((p) => p.inputs[i]!.data));
    feeds[t.name] = new ort.Tensor('float32', data, [batch.reduce((n, p) => n + p.inputs[i]!.shape[0]!, 0), ...t.shape.slice(1)]);
  }
  running = true;
  void session.run(feeds).then((results) => {
    running = false;
    let row = 0;
    for (const p of batch) {
      const n = p.inputs[0]!.shape[0]!;
      const outputs = Object.entries(results).map(([name, t]) => {
        const width = t.data.length / t.dims[0]!;
        return { name, datatype: 'FP32', shape: [n, ...t.dims.slice(1)], data: Array.from((t.data as Float32Array).subarray(row * width, (row + n) * width)) };
      });
      row += n;
      const body = JSON.stringify({ model_name: 'x', outputs });
      p.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    }
    runNext();
  });
}

serveBodies((body, _req, res) => {
  const { inputs } = JSON.parse(body.toString()) as { inputs: Input[] };
  queue.push({ inputs, res });
  runNext();
});
