/**
 * The floor of HTTP cost: bare `node:http` reading the request body and answering a fixed
 * JSON body of `arg` bytes, no framework, no model. Prints its port.
 */
import { serveBare } from './bare-http.js';

const size = Number(process.argv[2] ?? 200);
const body = Buffer.from(JSON.stringify({ model_name: 'x', outputs: [{ data: 'x'.repeat(Math.max(0, size - 40)) }] }));
serveBare((req, res) => {
  req.on('data', () => {});
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body));
});
