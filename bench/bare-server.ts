/** The floor of HTTP cost: fastify answering a fixed JSON body, no model. Prints its port. */
import Fastify from 'fastify';

const size = Number(process.argv[2] ?? 200);
const body = JSON.stringify({ model_name: 'x', outputs: [{ data: 'x'.repeat(Math.max(0, size - 40)) }] });
const app = Fastify();
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, b, done) => done(null, b));
app.post('/v2/models/:name/infer', async (_req, reply) => reply.type('application/json').send(body));
await app.listen({ host: '127.0.0.1', port: 0 });
console.log(JSON.stringify({ port: (app.server.address() as { port: number }).port }));
