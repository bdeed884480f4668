import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What `meta.json` of a cache entry records; written last, inside the temp dir, before the atomic rename. */
export interface CacheEntryMeta {
  version: 1;
  key: string;
  /** The URI with credentials, query and fragment removed, for people reading the cache. */
  source: string;
  /** sha256 of the full normalized URI: entries are found by (uriHash, content digest) without a request. */
  uriHash: string;
  size: number;
  /** What resolve returns, relative to `data/`: '' for a directory, else the file's name. */
  target: string;
  /** sha256 of the file, or of the directory's manifest (see integrity.ts). */
  digest: string;
  singleFile?: string;
  /** Every file, relative to `data/`. */
  files: Array<{ path: string; size: number; sha256: string }>;
  createdAt: string;
}

export interface CacheEntry {
  meta: CacheEntryMeta;
  dir: string;
  /** The local path resolve hands to runtimes. */
  path: string;
  lastUsed: number;
}

/**
 * Content-addressed store under `root`:
 *   entries/<key>/meta.json, entries/<key>/data/...   complete entries only
 *   tmp/<random>/                                      downloads in progress, evictions in progress
 * An entry appears by one rename of a finished temp dir, so a partial download never looks
 * complete. Use order survives restarts as meta.json's mtime. Assumes one inferd process per
 * cache directory.
 */
export class ContentCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly pins = new Map<string, number>();
  private initialized: Promise<void> | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  evictions = 0;

  constructor(readonly root: string, readonly maxBytes: number) {}

  get entriesDir(): string {
    return join(this.root, 'entries');
  }

  get tmpRoot(): string {
    return join(this.root, 'tmp');
  }

  init(): Promise<void> {
    this.initialized ??= this.scan();
    return this.initialized;
  }

  private async scan(): Promise<void> {
    await mkdir(this.entriesDir, { recursive: true });
    await mkdir(this.tmpRoot, { recursive: true });
    // Leftovers of a crash: temp dirs nobody will finish (older than an hour, in case a
    // download of another fetcher on this directory is still running).
    for (const name of await readdir(this.tmpRoot)) {
      const p = join(this.tmpRoot, name);
      const info = await stat(p).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > 3600_000) await rm(p, { recursive: true, force: true });
    }
    for (const key of await readdir(this.entriesDir)) {
      const dir = join(this.entriesDir, key);
      try {
        const metaPath = join(dir, 'meta.json');
        const meta = JSON.parse(await readFile(metaPath, 'utf8')) as CacheEntryMeta;
        if (meta.version !== 1 || meta.key !== key) throw new Error('stale meta');
        const info = await stat(metaPath);
        this.entries.set(key, { meta, dir, path: join(dir, 'data', meta.target), lastUsed: info.mtimeMs });
      } catch {
        await this.discard(dir);
      }
    }
    await this.evict();
  }

  /** A complete entry, marked as just used; sizes are re-checked so a damaged entry is dropped, not served. */
  async get(key: string): Promise<CacheEntry | undefined> {
    await this.init();
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (!(await this.intact(entry))) {
      this.entries.delete(key);
      await this.discard(entry.dir);
      return undefined;
    }
    await this.touch(entry);
    return entry;
  }

  /** An entry holding this URI's content with this digest, if one is cached. */
  async find(uriHash: string, sha256: string): Promise<CacheEntry | undefined> {
    await this.init();
    for (const e of this.entries.values()) {
      if (e.meta.uriHash === uriHash && (e.meta.digest === sha256 || e.meta.singleFile === sha256)) return this.get(e.meta.key);
    }
    return undefined;
  }

  /** Same content as an existing entry for this URI (downloads without validators). */
  findByDigest(uriHash: string, digest: string): CacheEntry | undefined {
    for (const e of this.entries.values()) if (e.meta.uriHash === uriHash && e.meta.digest === digest) return e;
    return undefined;
  }

  /** Keeps an entry from eviction until the returned function is called (idempotent). */
  pin(key: string): () => void {
    this.pins.set(key, (this.pins.get(key) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.pins.get(key) ?? 1) - 1;
      if (n <= 0) this.pins.delete(key);
      else this.pins.set(key, n);
    };
  }

  pinned(key: string): boolean {
    return (this.pins.get(key) ?? 0) > 0;
  }

  async makeTemp(): Promise<string> {
    await this.init();
    return mkdtemp(join(this.tmpRoot, 'dl-'));
  }

  /**
   * Moves a finished temp dir (holding `data/`) into place as entry `meta.key`, pinned for the
   * caller. If the entry appeared meanwhile, the temp dir is dropped and the existing one used.
   */
  async commit(tmp: string, meta: CacheEntryMeta): Promise<{ entry: CacheEntry; release: () => void }> {
    await writeFile(join(tmp, 'meta.json'), JSON.stringify(meta, null, 2));
    const dir = join(this.entriesDir, meta.key);
    const release = this.pin(meta.key);
    const existing = this.entries.get(meta.key);
    if (existing) {
      await rm(tmp, { recursive: true, force: true });
      await this.touch(existing);
      return { entry: existing, release };
    }
    try {
      await rename(tmp, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') {
        release();
        throw err;
      }
      await rm(tmp, { recursive: true, force: true });
    }
    const entry: CacheEntry = { meta, dir, path: join(dir, 'data', meta.target), lastUsed: Date.now() };
    this.entries.set(meta.key, entry);
    await this.evict();
    return { entry, release };
  }

  /** Removes least recently used entries that are not pinned until the total fits `maxBytes`. */
  evict(): Promise<number> {
    const run = this.chain.then(async () => {
      let total = this.sizeBytes();
      let removed = 0;
      const candidates = [...this.entries.values()].sort((a, b) => a.lastUsed - b.lastUsed);
      for (const e of candidates) {
        if (total <= this.maxBytes) break;
        if (this.pinned(e.meta.key)) continue;
        this.entries.delete(e.meta.key);
        await this.discard(e.dir);
        total -= e.meta.size;
        removed++;
        this.evictions++;
      }
      return removed;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  sizeBytes(): number {
    let total = 0;
    for (const e of this.entries.values()) total += e.meta.size;
    return total;
  }

  count(): number {
    return this.entries.size;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  private async touch(entry: CacheEntry): Promise<void> {
    const now = Date.now();
    entry.lastUsed = Math.max(now, entry.lastUsed + 1);
    const t = new Date(entry.lastUsed);
    await utimes(join(entry.dir, 'meta.json'), t, t).catch(() => undefined);
  }

  private async intact(entry: CacheEntry): Promise<boolean> {
    for (const f of entry.meta.files) {
      const p = join(entry.dir, 'data', ...f.path.split('/'));
      const info = await stat(p).catch(() => undefined);
      if (!info || info.size !== f.size) return false;
    }
    return true;
  }

  /** Renames a dir out of `entries/` first, so a half-deleted entry is never seen as complete. */
  private async discard(dir: string): Promise<void> {
    const trash = join(this.tmpRoot, `evict-${randomBytes(6).toString('hex')}`);
    await rename(dir, trash).then(
      () => rm(trash, { recursive: true, force: true }),
      () => rm(dir, { recursive: true, force: true }),
    );
  }
}
