import { createWriteStream } from 'node:fs';
import { stat, truncate } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { InferdError } from '../api/errors.js';

/** Progress of one resolve: bytes so far (of `total` where known), rate over the download, ETA. */
export interface StorageProgress {
  /** The storage URI, credentials removed. */
  uri: string;
  bytes: number;
  total?: number;
  /** Bytes per second since the download started. */
  rate: number;
  etaSeconds?: number;
  files: { done: number; total: number };
  done: boolean;
}

export interface RetryPolicy {
  /** Attempts per file (first try included). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A request must deliver its headers within this time. */
  openTimeoutMs: number;
  /** A body that delivers no byte for this long is dropped and resumed. */
  idleTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 8000, openTimeoutMs: 30_000, idleTimeoutMs: 60_000 };

/** A failure worth another try (dropped connection, timeout, 5xx, short body). */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}

/** An HTTP status other than the expected ones; 5xx, 408 and 429 are transient. */
export class HttpStatusError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);
const TRANSIENT_S3 = new Set(['SlowDown', 'RequestTimeout', 'RequestTimeoutException', 'InternalError', 'ServiceUnavailable', 'TimeoutError', 'ThrottlingException']);

/** Whether an error (network, HTTP, S3 SDK, ours) deserves a retry. */
export function isTransient(err: unknown): boolean {
  if (err instanceof InferdError) return false;
  if (err instanceof TransientError) return true;
  if (err instanceof HttpStatusError) return err.status >= 500 || err.status === 408 || err.status === 429;
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown; cause?: unknown; message?: string };
  if (e?.$metadata?.httpStatusCode !== undefined) {
    const s = e.$metadata.httpStatusCode;
    return s >= 500 || s === 408 || s === 429 || TRANSIENT_S3.has(e.name ?? '');
  }
  if (e?.$retryable || TRANSIENT_S3.has(e?.name ?? '')) return true;
  if (e?.code && TRANSIENT_CODES.has(e.code)) return true;
  if (e?.message === 'terminated' || e?.message === 'fetch failed' || /socket hang up|aborted|premature/i.test(e?.message ?? '')) return true;
  if (e?.cause && e.cause !== err) return isTransient(e.cause);
  return false;
}

export interface OpenedBody {
  body: Readable;
  /** Offset the body starts at: the requested one, or 0 where the server ignored the range. */
  start: number;
  /** Full size of the object, where the server says. */
  total?: number;
}

/** Opens the object from byte `start` (a Range request where start > 0). */
export type Opener = (start: number, signal: AbortSignal) => Promise<OpenedBody>;

export interface DownloadOptions {
  policy: RetryPolicy;
  signal?: AbortSignal;
  /** Size the file must end with, where known in advance (S3 listing). */
  expectedSize?: number;
  onBytes?: (delta: number) => void;
  /** Called before each retry; `restartedFrom` says where the next attempt resumes. */
  onRetry?: (attempt: number, err: unknown, resumeFrom: number) => void;
}

/**
 * Downloads into `dest`, retrying transient failures with exponential backoff and resuming
 * from the bytes already on disk where the server honours a Range request. Resolves with the
 * final size, which matches the server's stated size; a short body is never reported complete.
 */
export async function downloadResumable(dest: string, open: Opener, opts: DownloadOptions): Promise<number> {
  const { policy } = opts;
  let have = await sizeOf(dest);
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    const ac = new AbortController();
    const onAbort = () => ac.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let idle: NodeJS.Timeout | undefined;
    const arm = (ms: number, what: string) => {
      clearTimeout(idle);
      idle = setTimeout(() => ac.abort(new TransientError(`no ${what} for ${ms} ms`)), ms);
    };
    try {
      arm(policy.openTimeoutMs, 'response');
      const opened = await open(have, ac.signal);
      const total = opened.total ?? opts.expectedSize;
      if (opts.expectedSize !== undefined && opened.total !== undefined && opened.total !== opts.expectedSize) {
        throw new InferdError('conflict', `the object changed size during the download (${opts.expectedSize} → ${opened.total} bytes); deploy again`);
      }
      if (opened.start !== have) {
        // Server ignored the range (or the content changed): start over ('w' truncates). No
        // await before the pipeline below: the body must not error with nobody listening.
        opts.onBytes?.(-have);
        have = 0;
      }
      arm(policy.idleTimeoutMs, 'data');
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          arm(policy.idleTimeoutMs, 'data');
          opts.onBytes?.(chunk.length);
          cb(null, chunk);
        },
      });
      ac.signal.addEventListener('abort', () => opened.body.destroy(ac.signal.reason instanceof Error ? ac.signal.reason : new TransientError('aborted')), { once: true });
      await pipeline(opened.body, counter, createWriteStream(dest, { flags: have > 0 ? 'a' : 'w' }));
      have = await sizeOf(dest);
      if (total !== undefined && have < total) throw new TransientError(`connection closed after ${have} of ${total} bytes`);
      if (total !== undefined && have > total) {
        opts.onBytes?.(-have);
        have = 0;
        await truncate(dest, 0);
        throw new TransientError(`received more bytes than the ${total} announced`);
      }
      return have;
    } catch (raw) {
      const err = ac.signal.aborted && !opts.signal?.aborted && ac.signal.reason instanceof TransientError ? ac.signal.reason : raw;
      if (opts.signal?.aborted) throw new InferdError('timeout', 'download cancelled', { cause: opts.signal.reason });
      if (attempt >= policy.attempts || !isTransient(err)) throw err;
      have = await sizeOf(dest);
      opts.onRetry?.(attempt, err, have);
      const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await sleep(delay / 2 + Math.random() * (delay / 2), undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => undefined);
    } finally {
      clearTimeout(idle);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }
}

async function sizeOf(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.size ?? 0;
}

/** Aggregates byte counts of one resolve into throttled progress reports. */
export class ProgressMeter {
  private bytes = 0;
  private filesDone = 0;
  private readonly started = Date.now();
  private lastReport = 0;

  constructor(
    private readonly uri: string,
    private readonly total: number | undefined,
    private readonly fileCount: number,
    private readonly report?: (p: StorageProgress) => void,
    private readonly intervalMs = 200,
  ) {}

  add(delta: number): void {
    this.bytes += delta;
    this.emit(false);
  }

  fileDone(): void {
    this.filesDone++;
    this.emit(false, true);
  }

  finish(): void {
    this.emit(true, true);
  }

  get transferred(): number {
    return this.bytes;
  }

  private emit(done: boolean, force = false): void {
    if (!this.report) return;
    const now = Date.now();
    if (!force && now - this.lastReport < this.intervalMs) return;
    this.lastReport = now;
    const seconds = Math.max((now - this.started) / 1000, 1e-3);
    const rate = this.bytes / seconds;
    const p: StorageProgress = { uri: this.uri, bytes: this.bytes, rate, files: { done: this.filesDone, total: this.fileCount }, done };
    if (this.total !== undefined) {
      p.total = this.total;
      if (rate > 0) p.etaSeconds = Math.max(0, (this.total - this.bytes) / rate);
    }
    try {
      this.report(p);
    } catch {
      // A faulty progress listener must not break the download.
    }
  }
}
