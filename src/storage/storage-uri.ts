import { readdir, realpath } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { InferdError } from '../api/errors.js';
import type { StorageProgress } from './download.js';
import { insideRoot } from './inside-root.js';
import { DEFAULT_STORAGE_TIMEOUTS, type StorageTimeouts } from './timeouts.js';
import { DEFAULT_CACHE_MAX_BYTES, StorageFetcher } from './fetcher.js';
import { parseSha256, verifyLocal } from './integrity.js';
import type { S3Config } from './s3.js';

export interface StorageConfig {
  /** `pvc://NAME/...` roots: claim name → local directory. */
  pvcs: Record<string, string>;
  /** Download cache; default `<dataDir>/storage-cache`. */
  cacheDir?: string | undefined;
  /** Cache bound in bytes (LRU cleanup, entries in use kept); default 10 GiB. */
  cacheMaxBytes?: number | undefined;
  s3?: S3Config | undefined;
  /** Directories `file://` storageUris may name (see ResolveOptions.fileRoots). */
  fileRoots?: string[] | undefined;
  timeouts?: StorageTimeouts | undefined;
}


export interface ResolveOptions {
  /** Directory of the manifest the URI came from, for relative `file://` paths. */
  baseDir: string;
  /** inferd's data directory: the download cache lives in `<dataDir>/storage-cache` unless `storage.cacheDir` is set. */
  dataDir?: string | undefined;
  /** Expected sha256 (see integrityOf); checked for every scheme before the path is returned. */
  sha256?: string | undefined;
  onProgress?: ((p: StorageProgress) => void) | undefined;
  /** Cancels a download. */
  signal?: AbortSignal | undefined;
  /** The model's env (ServingRuntime container + InferenceService): S3 endpoint, region, credentials. */
  env?: Record<string, string> | undefined;
  /** The downloaded entry is kept from LRU cleanup until this aborts (model unloaded); without it, for the process's life. */
  releaseSignal?: AbortSignal | undefined;
  /**
   * Where `file://` and plain paths may point (symlinks resolved, every file of a directory
   * checked): 'any' for a caller that is the operator; default `storage.fileRoots` only.
   */
  fileRoots?: readonly string[] | 'any' | undefined;
  /** A fetcher to use instead of the shared one for the cache directory. */
  fetcher?: StorageFetcher | undefined;
}

const fetchers = new Map<string, StorageFetcher>();

/** The shared fetcher (and its cache) for a storage config and data directory; `stats()` counts hits and downloads. */
export function storageFetcher(config: Pick<StorageConfig, 'cacheDir' | 'cacheMaxBytes' | 'timeouts'>, dataDir?: string): StorageFetcher {
  if (config.cacheDir === undefined && dataDir === undefined) {
    throw new InferdError('internal', 'remote storageUri: no download cache (set storage.cacheDir, or pass dataDir)');
  }
  const dir = resolve(config.cacheDir ?? join(dataDir!, 'storage-cache'));
  let f = fetchers.get(dir);
  if (!f) {
    const idleMs = (config.timeouts ?? DEFAULT_STORAGE_TIMEOUTS).idleSeconds * 1000;
    f = new StorageFetcher({ cacheDir: dir, maxBytes: config.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES, retry: { openTimeoutMs: idleMs, idleTimeoutMs: idleMs } });
    fetchers.set(dir, f);
  }
  return f;
}

/**
 * Resolves a storageUri to a local path (file or directory): `file://` and plain paths
 * (relative to the manifest), `pvc://` (confined to the mapped root), `s3://` and
 * `http(s)://` (downloaded into the content-addressed cache). With `sha256`, the content is
 * checked before the path is returned; a mismatch is InferdError('invalid_input').
 */
export async function resolveStorageUri(uri: string, config: StorageConfig, options: ResolveOptions): Promise<string> {
  const sha256 = options.sha256 === undefined ? undefined : parseSha256(options.sha256);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === 's3' || scheme === 'http' || scheme === 'https') {
    const fetcher = options.fetcher ?? storageFetcher(config, options.dataDir);
    const timeouts = config.timeouts ?? DEFAULT_STORAGE_TIMEOUTS;
    // One deadline over listing, every retry and every file: a server that accepts and never answers fails the model.
    const deadline = AbortSignal.timeout(timeouts.totalSeconds * 1000);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    const s3Timeouts = { connectMs: timeouts.connectSeconds * 1000, idleMs: timeouts.idleSeconds * 1000 };
    const result = await fetcher.fetch(uri, config, { sha256, onProgress: options.onProgress, signal, env: options.env, timeouts: s3Timeouts }).catch((err: unknown) => {
      if (!deadline.aborted) throw err;
      throw new InferdError('timeout', `storageUri ${displayUri(uri)}: timed out after ${timeouts.totalSeconds} s waiting for the storage (storage.timeouts.totalSeconds)`, { field: 'storageUri' });
    });
    if (options.releaseSignal) {
      if (options.releaseSignal.aborted) result.release();
      else options.releaseSignal.addEventListener('abort', result.release, { once: true });
    }
    return result.path;
  }
  const path = await resolveLocal(uri, scheme, config, options);
  if (sha256 !== undefined) await verifyLocal(path, sha256, `storageUri ${uri}`);
  return path;
}

async function resolveLocal(uri: string, scheme: string | undefined, config: StorageConfig, options: ResolveOptions): Promise<string> {
  if (scheme === undefined || scheme === 'file') {
    const rest = scheme ? uri.slice('file://'.length) : uri;
    const path = decodeURIComponent(rest);
    const target = isAbsolute(path) ? resolve(path) : resolve(options.baseDir, path);
    const roots = options.fileRoots ?? config.fileRoots ?? [];
    if (roots !== 'any') await confineFile(target, roots, uri);
    return target;
  }
  if (scheme === 'pvc') {
    const rest = uri.slice('pvc://'.length);
    const slash = rest.indexOf('/');
    const claim = slash < 0 ? rest : rest.slice(0, slash);
    const sub = slash < 0 ? '' : decodeURIComponent(rest.slice(slash + 1));
    const root = config.pvcs[claim];
    if (root === undefined) {
      throw new InferdError('invalid_input', `storageUri ${uri}: no PVC named "${claim}" is mapped in inferd's config (storage.pvcs)`, { field: 'storageUri' });
    }
    return confine(root, sub, uri);
  }
  throw new InferdError('invalid_input', `storageUri ${uri}: scheme "${scheme}" is not supported (use file://, pvc://, s3:// or http(s)://)`, { field: 'storageUri' });
}

/** Joins `sub` under `root`, refusing any path (.., absolute, or symlink) that leaves it. */
async function confine(root: string, sub: string, uri: string): Promise<string> {
  const escape = () => new InferdError('invalid_input', `storageUri ${uri}: path leaves the PVC's root`, { field: 'storageUri' });
  if (isAbsolute(sub)) throw escape();
  const rootAbs = resolve(root);
  const target = resolve(rootAbs, sub);
  if (!insideRoot(rootAbs, target)) throw escape();
  const realRoot = await realpath(rootAbs).catch(() => rootAbs);
  if (!(await allInside(target, [realRoot]))) throw escape();
  return target;
}

/** A `file://` path must lie, with every file under it, in one of `roots`. */
async function confineFile(target: string, roots: readonly string[], uri: string): Promise<void> {
  const realRoots = await Promise.all(roots.map((r) => realpath(resolve(r)).catch(() => resolve(r))));
  if (realRoots.length === 0 || !(await allInside(target, realRoots))) {
    throw new InferdError('forbidden', `storageUri ${displayUri(uri)}: file:// paths must lie under a directory in storage.fileRoots`, { field: 'storageUri' });
  }
}

/** Bound on the entries walked under one model directory. */
const MAX_ENTRIES = 100_000;

/** True when `target` and, for a directory, every entry under it resolve (symlinks followed) inside one root. */
async function allInside(target: string, realRoots: readonly string[]): Promise<boolean> {
  const within = (p: string) => realRoots.some((r) => insideRoot(r, p));
  const real = await realpath(target).catch(() => undefined);
  if (real === undefined) return realRoots.some((r) => insideRoot(r, target));
  if (!within(real)) return false;
  const pending = [target];
  let seen = 0;
  while (pending.length > 0) {
    const dir = pending.pop()!;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
    if (!entries) continue;
    for (const e of entries) {
      if (++seen > MAX_ENTRIES) return false;
      const path = join(dir, e.name);
      if (e.isSymbolicLink()) {
        const to = await realpath(path).catch(() => undefined);
        if (to !== undefined && !within(to)) return false;
      } else if (e.isDirectory()) pending.push(path);
    }
  }
  return true;
}

/** A storageUri for a message: no credentials, no query, capped. */
function displayUri(uri: string): string {
  const clean = uri.replace(/\/\/[^/@]*@/, '//').replace(/[?#].*$/, '');
  return clean.length > 200 ? `${clean.slice(0, 200)}...` : clean;
}
