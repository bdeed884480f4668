import type { Datatype } from '../api/datatype.js';
import type { Tensor } from '../api/inference.js';
import { decodeRaw, encodeRaw } from '../protocols/v2/binary-tensor.js';
import type { SharedCache } from '../serving/prediction-cache.js';
import type { SharedRedis } from './redis.js';

/**
 * Predictions shared between inferd replicas through Redis: the L2 behind each
 * revision's local LRU. Keys carry the revision's identity (namespace, model, revision
 * name and spec hash) before the canonical input hash, so two revisions never share an
 * entry; values are the output tensors in the binary-extension encoding.
 */
export class SharedPredictionStore {
  constructor(private readonly redis: SharedRedis, private readonly maxValueBytes: number) {}

  /** The L2 of one revision. */
  scoped(scope: string): SharedCache {
    const prefix = `${this.redis.prefix}pc:${scope}:`;
    return {
      get: async (key) => {
        const r = await this.redis.run('prediction_cache', 'get', (c) => c.getBuffer(prefix + key));
        if (!r?.value) return undefined;
        try {
          return decodeOutputs(r.value);
        } catch {
          return undefined; // Written by an incompatible version: recompute.
        }
      },
      set: (key, outputs, ttlMs) => {
        const value = encodeOutputs(outputs);
        if (value.byteLength > this.maxValueBytes) return;
        // Not awaited: the answer is already computed and must not wait for Redis.
        void this.redis.run('prediction_cache', 'set', (c) => c.set(prefix + key, value, 'PX', Math.max(1, Math.round(ttlMs))));
      },
    };
  }
}

interface Header {
  n: string;
  d: Datatype;
  s: number[];
  b: number;
  p?: Tensor['parameters'];
}

/** [u32 LE header length][JSON header: name, datatype, shape, byte length per tensor][raw tensor bytes...]. */
export function encodeOutputs(outputs: readonly Tensor[]): Buffer {
  const raws = outputs.map((t) => encodeRaw(t.datatype, t.data));
  const header: Header[] = outputs.map((t, i) => ({ n: t.name, d: t.datatype, s: t.shape, b: raws[i]!.byteLength, ...(t.parameters ? { p: t.parameters } : {}) }));
  const head = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(head.byteLength);
  return Buffer.concat([len, head, ...raws]);
}

export function decodeOutputs(buf: Buffer): Tensor[] {
  const headLen = buf.readUInt32LE(0);
  const header = JSON.parse(buf.subarray(4, 4 + headLen).toString('utf8')) as Header[];
  let pos = 4 + headLen;
  return header.map((h) => {
    // Copied out of the Redis buffer so typed arrays are aligned for their element size.
    const bytes = new Uint8Array(buf.subarray(pos, pos + h.b));
    pos += h.b;
    const count = h.s.reduce((a, b) => a * b, 1);
    const t: Tensor = { name: h.n, datatype: h.d, shape: h.s, data: decodeRaw(h.d, bytes, count, h.n) };
    if (h.p) t.parameters = h.p;
    return t;
  });
}
