/**
 * The floor of HTTP cost: bare `node:http` reading the request body and answering a fixed
 * JSON body of `arg` bytes, no framework, no model. Prints its port.
 */
import { createServer } from 'node:http';

const size = Number(process.argv[2] ?? 200);
const body = Buffer.from(JSON.stringify({ model_name: 'x', outputs: [{ data: 'x'.repeat(Math.max(0, size - 40)) }] }));
const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body));
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as { port: number }).port })));
// A clean exit writes the profile of a `--cpu-prof` run (bench/cpu-profile.ts).
process.on('SIGTERM', () => process.exit(0));
