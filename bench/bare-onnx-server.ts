/**
 * The least a V2 server can do for an ONNX model: bare `node:http`, JSON.parse, one
 * onnxruntime-node run, JSON.stringify. No framework, queue, deadline, auth, metrics or
 * validation: the floor under inferd's own work for a tiny model. Prints its port.
 */
import { createServer } from 'node:http';
import * as ort from 'onnxruntime-node';

interface Body {
  inputs: Array<{ name: string; shape: number[]; data: number[] }>;
}

const session = await ort.InferenceSession.create(process.argv[2]!, { intraOpNumThreads: 1, interOpNumThreads: 1 });
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const { inputs } = JSON.parse(Buffer.concat(chunks).toString()) as Body;
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of inputs) feeds[t.name] = new ort.Tensor('float32', Float32Array.from(t.data), t.shape);
    void session.run(feeds).then((results) => {
      const outputs = Object.entries(results).map(([name, t]) => ({ name, datatype: 'FP32', shape: t.dims, data: Array.from(t.data as Float32Array) }));
      const body = JSON.stringify({ model_name: 'x', outputs });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as { port: number }).port })));
