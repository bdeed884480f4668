import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InferdError } from '../api/errors.js';
import { ContentCache, type CacheEntry, type CacheEntryMeta } from './cache.js';
import { DEFAULT_RETRY, ProgressMeter, downloadResumable, isTransient, type Opener, type RetryPolicy, type StorageProgress } from './download.js';
import { displayUrl, fileNameOf, httpOpener, probeHttp, type HttpValidators } from './http.js';
import { digestsOf, matches, mismatchError, type Digests } from './integrity.js';
import type { S3Config, S3Timeouts } from './s3.js';

export const DEFAULT_CACHE_MAX_BYTES = 10 * 1024 ** 3;

export interface FetchOptions {
  /** Expected sha256 (hex) of the file, or of the directory's manifest (see integrity.ts). */
  sha256?: string | undefined;
  onProgress?: ((p: StorageProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** The model's env (InferenceService/ServingRuntime): S3 endpoint, region, credentials. */
  env?: Record<string, string> | undefined;
  /** Connect/idle bounds of S3 requests (http(s) use the fetcher's policy). */
  timeouts?: S3Timeouts | undefined;
}

export interface FetchResult {
  /** Local file (single object / URL) or directory (S3 prefix) inside the cache. */
  path: string;
  key: string;
  /** True when nothing was downloaded. */
  cached: boolean;
  bytesDownloaded: number;
  /** Lets the entry be evicted again; until then LRU cleanup keeps it. */
  release: () => void;
}

export interface FetcherStats {
  /** Resolves answered from the cache without downloading. */
  hits: number;
  /** Resolves that downloaded. */
  misses: number;
  bytesDownloaded: number;
  retries: number;
  /** Downloads refused because their sha256 did not match. */
  integrityFailures: number;
  evictions: number;
  entries: number;
  sizeBytes: number;
}

export interface FetcherOptions {
  cacheDir: string;
  maxBytes?: number | undefined;
  retry?: Partial<RetryPolicy> | undefined;
}

interface Item {
  rel: string;
  size?: number | undefined;
  open: Opener;
}

interface Plan {
  display: string;
  uriHash: string;
  /** Known before downloading (from ETags/validators); else derived from the content. */
  key?: string | undefined;
  items: Item[];
  /** '' for a directory, else the single file's name. */
  target: string;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const ARCHIVE = /\.(tar|tgz|tar\.gz|zip)$/i;

/**
 * Downloads s3:// and http(s):// models into a content-addressed cache (see cache.ts).
 * Emits `hit`, `download`, `retry` and `integrity-failure` events; `stats()` counts them.
 * Never logs and never puts credentials in messages.
 */
export class StorageFetcher extends EventEmitter {
  readonly cache: ContentCache;
  readonly policy: RetryPolicy;
  private readonly counters = { hits: 0, misses: 0, bytesDownloaded: 0, retries: 0, integrityFailures: 0 };
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(opts: FetcherOptions) {
    super();
    this.cache = new ContentCache(opts.cacheDir, opts.maxBytes ?? DEFAULT_CACHE_MAX_BYTES);
    this.policy = { ...DEFAULT_RETRY, ...opts.retry };
  }

  stats(): FetcherStats {
    return { ...this.counters, evictions: this.cache.evictions, entries: this.cache.count(), sizeBytes: this.cache.sizeBytes() };
  }

  async fetch(uri: string, storage: { s3?: S3Config | undefined }, opts: FetchOptions = {}): Promise<FetchResult> {
    await this.cache.init();
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
    if (scheme === 's3') return this.fetchS3(uri, storage.s3, opts);
    if (scheme === 'http' || scheme === 'https') return this.fetchHttp(uri, opts);
    throw new InferdError('invalid_input', `storageUri: scheme "${scheme ?? ''}" is not fetched remotely`, { field: 'storageUri' });
  }

  private async fetchS3(uri: string, config: S3Config | undefined, opts: FetchOptions): Promise<FetchResult> {
    // The AWS SDK takes ~0.7 s to import: loaded on the first s3:// resolve only.
    const { listS3, parseS3Uri, s3Client, s3Error, s3Opener, s3Settings } = await import('./s3.js');
    const loc = parseS3Uri(uri);
    const display = `s3://${loc.bucket}/${loc.path}`;
    const settings = await s3Settings(config, opts.env);
    const redact = redactor(settings.secrets);
    const uriHash = sha(`s3\n${settings.endpoint ?? ''}\n${loc.bucket}\n${loc.path.replace(/\/+$/, '')}`);
    const known = await this.byDigest(uriHash, display, opts);
    if (known) return known;
    const client = await s3Client(settings, opts.timeouts);
    const planFor = async (): Promise<Plan> => {
      const { objects, single } = await listS3(client, loc, display, opts.signal);
      if (objects.length === 1 && ARCHIVE.test(objects[0]!.rel)) throw archiveError(display, objects[0]!.rel);
      const key = sha(JSON.stringify({ v: 1, uriHash, objects: objects.map((o) => [o.rel, o.etag, o.size]) }));
      const plan: Plan = {
        display,
        uriHash,
        key,
        target: single ? objects[0]!.rel : '',
        items: objects.map((o) => ({ rel: o.rel, size: o.size, open: s3Opener(client, loc.bucket, o) })),
      };
      return plan;
    };
    try {
      return await this.onceMore(async () => this.resolvePlan(await planFor(), opts));
    } catch (err) {
      throw redact(err instanceof InferdError ? err : s3Error(err, display));
    } finally {
      client.destroy();
    }
  }

  private async fetchHttp(uri: string, opts: FetchOptions): Promise<FetchResult> {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new InferdError('invalid_input', 'storageUri: not a valid URL', { field: 'storageUri' });
    }
    const secrets: string[] = [];
    const headers: Record<string, string> = {};
    if (url.username || url.password) {
      const user = decodeURIComponent(url.username);
      const pass = decodeURIComponent(url.password);
      headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
      secrets.push(url.password, pass, headers.authorization.slice(6));
      url.username = '';
      url.password = '';
    }
    for (const v of url.searchParams.values()) if (v.length >= 8) secrets.push(v);
    const redact = redactor(secrets);
    const display = displayUrl(url);
    const name = fileNameOf(url);
    try {
      if (ARCHIVE.test(name)) throw archiveError(display, name);
      const uriHash = sha(`http\n${url.href}`);
      const known = await this.byDigest(uriHash, display, opts);
      if (known) return known;
      const planFor = async (): Promise<Plan> => {
        const validators = await this.withRetry(() => probeHttp(url, display, this.policy.openTimeoutMs, opts.signal, headers), opts.signal);
        const key = validators.etag || validators.lastModified ? sha(JSON.stringify({ v: 1, uriHash, etag: validators.etag, lastModified: validators.lastModified, length: validators.length })) : undefined;
        return { display, uriHash, key, target: name, items: [{ rel: name, size: validators.length, open: httpOpener(url, display, validators as HttpValidators, headers) }] };
      };
      return await this.onceMore(async () => this.resolvePlan(await planFor(), opts));
    } catch (err) {
      throw redact(err instanceof InferdError ? err : new InferdError('not_ready', `storageUri ${display}: download failed (after retries): ${(err as Error).message}`, { field: 'storageUri' }));
    }
  }

  /** With a sha256, an entry of this URI with that content answers without any request. */
  private async byDigest(uriHash: string, display: string, opts: FetchOptions): Promise<FetchResult | undefined> {
    if (!opts.sha256) return undefined;
    const entry = await this.cache.find(uriHash, opts.sha256);
    return entry ? this.hit(entry, display) : undefined;
  }

  private hit(entry: CacheEntry, display: string): FetchResult {
    this.counters.hits++;
    const release = this.cache.pin(entry.meta.key);
    this.emit('hit', { uri: display, key: entry.meta.key, path: entry.path });
    return { path: entry.path, key: entry.meta.key, cached: true, bytesDownloaded: 0, release };
  }

  private async resolvePlan(plan: Plan, opts: FetchOptions): Promise<FetchResult> {
    if (plan.key) {
      // One download per key at a time; later callers find the entry it made.
      for (;;) {
        const entry = await this.cache.get(plan.key);
        if (entry) {
          if (opts.sha256 && !matches(entry.meta, opts.sha256)) throw this.integrityFailure(plan.display, opts.sha256, entry.meta);
          return this.hit(entry, plan.display);
        }
        const running = this.inflight.get(plan.key);
        if (!running) break;
        await running.catch(() => undefined);
        if (!(await this.cache.get(plan.key))) break;
      }
      const job = this.download(plan, opts);
      this.inflight.set(plan.key, job);
      try {
        return await job;
      } finally {
        this.inflight.delete(plan.key);
      }
    }
    return this.download(plan, opts);
  }

  /** Runs a resolve; a fresh download whose sha256 did not match is tried once more (listing/probe included), then refused. */
  private async onceMore<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof FreshMismatch)) throw err;
    }
    try {
      return await fn();
    } catch (err) {
      throw err instanceof FreshMismatch ? err.error : err;
    }
  }

  /**
   * Downloads into a temp dir, hashes what is on disk, checks the sha256, then renames the dir
   * into the cache. Nothing of a refused or failed download stays.
   */
  private async download(plan: Plan, opts: FetchOptions): Promise<FetchResult> {
    this.counters.misses++;
    const total = plan.items.every((i) => i.size !== undefined) ? plan.items.reduce((s, i) => s + i.size!, 0) : undefined;
    {
      const tmp = await this.cache.makeTemp();
      const data = join(tmp, 'data');
      const meter = new ProgressMeter(plan.display, total, plan.items.length, opts.onProgress);
      try {
        for (const item of plan.items) {
          const dest = join(data, ...item.rel.split('/'));
          await mkdir(dirname(dest), { recursive: true });
          await this.withRetry(
            () =>
              downloadResumable(dest, item.open, {
                policy: this.policy,
                signal: opts.signal,
                expectedSize: item.size,
                onBytes: (n) => meter.add(n),
                onRetry: (attempt, err, resumeFrom) => this.retried(plan.display, attempt, err, resumeFrom),
              }),
            opts.signal,
            1,
          );
          meter.fileDone();
        }
        meter.finish();
        this.counters.bytesDownloaded += meter.transferred;
        const digests = await this.digests(data, plan.target);
        if (opts.sha256 && !matches(digests, opts.sha256)) throw new FreshMismatch(this.integrityFailure(plan.display, opts.sha256, digests));
        const key = plan.key ?? sha(JSON.stringify({ v: 1, uriHash: plan.uriHash, digest: digests.digest }));
        const same = plan.key ? undefined : this.cache.findByDigest(plan.uriHash, digests.digest);
        if (same) {
          this.emit('download', { uri: plan.display, key: same.meta.key, bytes: meter.transferred });
          return { ...this.hit(same, plan.display), cached: false, bytesDownloaded: meter.transferred };
        }
        const meta: CacheEntryMeta = {
          version: 1,
          key,
          source: plan.display,
          uriHash: plan.uriHash,
          size: digests.files.reduce((s, f) => s + f.size, 0),
          target: plan.target,
          digest: digests.digest,
          files: digests.files,
          createdAt: new Date().toISOString(),
        };
        if (digests.singleFile !== undefined) meta.singleFile = digests.singleFile;
        const { entry, release } = await this.cache.commit(tmp, meta);
        this.emit('download', { uri: plan.display, key, bytes: meter.transferred, path: entry.path });
        return { path: entry.path, key, cached: false, bytesDownloaded: meter.transferred, release };
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    }
  }

  private async digests(data: string, target: string): Promise<Digests> {
    if (target === '') return digestsOf(data);
    const d = await digestsOf(join(data, target));
    return { ...d, files: d.files.map((f) => ({ ...f, path: target })) };
  }

  private integrityFailure(display: string, expected: string, d: Pick<Digests, 'digest' | 'singleFile'>): InferdError {
    this.counters.integrityFailures++;
    this.emit('integrity-failure', { uri: display, expected, actual: d.digest });
    return mismatchError(`storageUri ${display}`, expected, d);
  }

  private retried(display: string, attempt: number, err: unknown, resumeFrom: number): void {
    this.counters.retries++;
    this.emit('retry', { uri: display, attempt, resumeFrom, error: (err as Error)?.message ?? String(err) });
  }

  /** Retries an operation on transient errors; `attempts` 1 for callers that retry themselves. */
  private async withRetry<T>(fn: () => Promise<T>, signal: AbortSignal | undefined, attempts = this.policy.attempts): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (signal?.aborted || attempt >= attempts || !isTransient(err)) throw err;
        this.counters.retries++;
        const delay = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (attempt - 1));
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}

/** A sha256 mismatch of content just downloaded (worth one more download, unlike a cached entry's). */
class FreshMismatch extends Error {
  constructor(readonly error: InferdError) {
    super(error.message);
  }
}

function archiveError(display: string, name: string): InferdError {
  return new InferdError(
    'invalid_input',
    `storageUri ${display}: holds only the archive ${name}; inferd does not unpack archives (KServe's initializer does): upload the extracted files`,
    { field: 'storageUri' },
  );
}

/** Replaces every secret value in an error's message (and drops its cause) before it leaves. */
function redactor(secrets: string[]): (err: unknown) => unknown {
  const values = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  return (err) => {
    if (!(err instanceof Error)) return err;
    let message = err.message;
    for (const v of values) message = message.split(v).join('***');
    if (err instanceof InferdError) {
      const out = new InferdError(err.code, message, err.field !== undefined ? { field: err.field } : {});
      return out;
    }
    return new Error(message);
  };
}
