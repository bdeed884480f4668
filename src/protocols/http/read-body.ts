import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import fastify from 'fastify';
import { markMovable } from '../../serving/replicas/movable.js';
import { HEADER_LENGTH } from './body.js';

const { FST_ERR_CTP_BODY_TOO_LARGE, FST_ERR_CTP_INVALID_CONTENT_LENGTH } = fastify.errorCodes;

/** Tensor data is at most 8-byte elements: a binary part starting on a multiple of 8 is viewed in place. */
const ALIGN = 8;

/**
 * fastify's `parseAs: 'buffer'` reading (413 over `limit`, 400 when the bytes received differ
 * from Content-Length, memory held only for bytes that arrived), with one difference: the one
 * copy that joins the chunks places the body so that the binary part of a V2 binary-extension
 * body (after `Inference-Header-Content-Length` bytes of JSON) starts 8-byte aligned. Its tensor
 * is then a view of the body; fastify's layout made decoding copy it again (1.2 MB per image
 * request, on the main thread).
 */
export function readBody(req: FastifyRequest, payload: IncomingMessage, limit: number, done: (err: Error | null, body?: Buffer) => void): void {
  const declared = req.headers['content-length'];
  const length = declared === undefined ? NaN : Number(declared);
  if (length > limit) return done(new FST_ERR_CTP_BODY_TOO_LARGE());
  const chunks: Buffer[] = [];
  let received = 0;
  const finish = (err: Error | null, body?: Buffer) => {
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onError);
    done(err, body);
  };
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (received > limit) return finish(new FST_ERR_CTP_BODY_TOO_LARGE());
    chunks.push(chunk);
  };
  const onEnd = () => {
    if (!Number.isNaN(length) && received !== length) return finish(new FST_ERR_CTP_INVALID_CONTENT_LENGTH());
    finish(null, aligned(chunks, received, Number(req.headers[HEADER_LENGTH])));
  };
  const onError = (err: Error & { statusCode?: number }) => {
    if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
    finish(err);
  };
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
  payload.resume();
}

/** The chunks joined, with byte `head` on an ALIGN boundary of the underlying ArrayBuffer when it lies within the body. */
function aligned(chunks: readonly Buffer[], size: number, head: number): Buffer {
  if (!(Number.isSafeInteger(head) && head >= 0 && head < size)) return Buffer.concat(chunks, size);
  const pad = (ALIGN - (head % ALIGN)) % ALIGN;
  // A fresh (unpooled) buffer: byteOffset 0 of its own ArrayBuffer, and no other request's bytes in the padding.
  const out = Buffer.allocUnsafeSlow(pad + size).fill(0, 0, pad);
  let at = pad;
  for (const c of chunks) at += c.copy(out, at);
  // This request's alone: the tensors of a V2 binary body view it and may carry it to a replica.
  markMovable(out.buffer);
  return out.subarray(pad);
}
