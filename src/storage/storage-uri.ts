import { realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InferdError } from '../api/errors.js';
import type { StorageProgress } from './download.js';
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
  /** A fetcher to use instead of the shared one for the cache directory. */
  fetcher?: StorageFetcher | undefined;
}

const fetchers = new Map<string, StorageFetcher>();

/** The shared fetcher (and its cache) for a storage config and data directory; `stats()` counts hits and downloads. */
export function storageFetcher(config: Pick<StorageConfig, 'cacheDir' | 'cacheMaxBytes'>, dataDir?: string): StorageFetcher {
  if (config.cacheDir === undefined && dataDir === undefined) {
    throw new InferdError('internal', 'remote storageUri: no download cache (set storage.cacheDir, or pass dataDir)');
  }
  const dir = resolve(config.cacheDir ?? join(dataDir!, 'storage-cache'));
  let f = fetchers.get(dir);
  if (!f) {
    f = new StorageFetcher({ cacheDir: dir, maxBytes: config.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES });
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
    const result = await fetcher.fetch(uri, config, { sha256, onProgress: options.onProgress, signal: options.signal, env: options.env });
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
    return isAbsolute(path) ? resolve(path) : resolve(options.baseDir, path);
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
  if (!inside(rootAbs, target)) throw escape();
  const [realRoot, realTarget] = await Promise.all([realpath(rootAbs).catch(() => rootAbs), realpath(target).catch(() => target)]);
  if (!inside(realRoot, realTarget)) throw escape();
  return target;
}

function inside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}
