import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

export interface UpstreamRequest {
  method: string;
  /** Path and query, e.g. `/v2/models/m/infer`. */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | undefined;
  signal?: AbortSignal | undefined;
  /** Answers to hand over as a stream rather than read whole (e.g. server-sent events). */
  streamIf?: (res: IncomingMessage) => boolean;
}

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Set instead of `body` when `streamIf` chose to stream. */
  stream?: IncomingMessage;
}

/** Node's error code of a failed request (ECONNREFUSED, ECONNRESET, ...), else its message. */
export function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : (err as Error).message;
}

/**
 * One request to a model's process, on a connection of its own. No keep-alive, so
 * that a failure has one meaning: ECONNREFUSED means the request never reached the
 * process (it is dead or restarting: safe to send again, whatever the method); any
 * other failure means it may have, and it is not sent again (a request that crashed
 * the process must not crash the next one).
 */
export function requestOnce(baseUrl: string, req: UpstreamRequest): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body) headers['content-length'] = req.body.length;
    const r = request(`${baseUrl}${req.path}`, { method: req.method, headers, agent: false, ...(req.signal ? { signal: req.signal } : {}) }, (res) => {
      if (req.streamIf?.(res)) return resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.alloc(0), stream: res });
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.complete) resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) });
        else reject(Object.assign(new Error('the process closed the connection mid-response'), { code: 'ECONNRESET' }));
      });
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) reject(Object.assign(new Error('the process closed the connection mid-response'), { code: 'ECONNRESET' }));
      });
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

/**
 * Sends a request to the process, waiting through refused connections (a restart)
 * until `untilMs` (epoch ms). `baseUrl` is read on every try: a restart may move the
 * process to another port. Throws the last error.
 */
export async function requestProcess(baseUrl: () => string, req: UpstreamRequest, untilMs: number): Promise<UpstreamResponse> {
  for (let wait = 25; ; wait = Math.min(wait * 2, 250)) {
    try {
      return await requestOnce(baseUrl(), req);
    } catch (err) {
      if (req.signal?.aborted || errorCode(err) !== 'ECONNREFUSED' || Date.now() + wait > untilMs) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
