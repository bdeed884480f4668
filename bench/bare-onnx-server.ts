/**
 * The least a V2 server can do for an ONNX model: fastify, JSON.parse, one onnxruntime-node
 * run, JSON.stringify. No queue, deadline, auth, metrics or validation: the floor under
 * inferd's own work for a tiny model. Prints its port.
 */
import Fastify from 'fastify';
import * as ort from 'onnxruntime-node';

interface Body {
  inputs: Array<{ name: string; shape: number[]; data: number[] }>;
}

const session = await ort.InferenceSession.create(process.argv[2]!, { intraOpNumThreads: 1, interOpNumThreads: 1 });
const app = Fastify();
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, b, done) => done(null, b));
app.post('/v2/models/:name/infer', async (req, reply) => {
  const { inputs } = JSON.parse((req.body as Buffer).toString()) as Body;
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of inputs) feeds[t.name] = new ort.Tensor('float32', Float32Array.from(t.data), t.shape);
  const results = await session.run(feeds);
  const outputs = Object.entries(results).map(([name, t]) => ({ name, datatype: 'FP32', shape: t.dims, data: Array.from(t.data as Float32Array) }));
  return reply.type('application/json').send(JSON.stringify({ model_name: 'x', outputs }));
});
await app.listen({ host: '127.0.0.1', port: 0 });
console.log(JSON.stringify({ port: (app.server.address() as { port: number }).port }));
