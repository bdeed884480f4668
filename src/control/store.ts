import Database from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InferdError } from '../api/errors.js';
import type { Resource } from '../api/resources/manifest.js';

export interface StoredResource {
  resource: Resource;
  /** Directory relative paths in the resource resolve against. */
  baseDir: string;
}

export interface RevisionRecord {
  number: number;
  /** The variant this revision belongs to: "" for the main predictor, else the canary entry's name. */
  variant: string;
  spec: unknown;
  specHash: string;
  createdAt: string;
  outcome: 'Pending' | 'Ready' | 'Failed';
  message?: string;
}

export interface RolloutState {
  latestRolledout?: number;
  previousRolledout?: number;
}

export interface StoredEvent {
  time: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resources (
  kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
  body TEXT NOT NULL, base_dir TEXT NOT NULL,
  PRIMARY KEY (kind, namespace, name));
CREATE TABLE IF NOT EXISTS revisions (
  namespace TEXT NOT NULL, name TEXT NOT NULL, number INTEGER NOT NULL, variant TEXT NOT NULL,
  spec TEXT NOT NULL, spec_hash TEXT NOT NULL, created_at TEXT NOT NULL,
  outcome TEXT NOT NULL, message TEXT,
  PRIMARY KEY (namespace, name, number));
CREATE TABLE IF NOT EXISTS rollouts (
  namespace TEXT NOT NULL, name TEXT NOT NULL, latest_rolledout INTEGER, previous_rolledout INTEGER,
  PRIMARY KEY (namespace, name));
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, namespace TEXT NOT NULL, name TEXT NOT NULL,
  time TEXT NOT NULL, type TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_object ON events (namespace, name, id);
`;

const MAX_EVENTS_PER_OBJECT = 50;

/** How often a WAL with frames in it is checkpointed into the database file. */
const CHECKPOINT_MS = 2000;
/** SQLite's own checkpoint on commit, in pages (default 1000, ~4 MB: a store this small never reached it). */
const AUTOCHECKPOINT_PAGES = 256;
/** A WAL left larger than this after a checkpoint is truncated to it. */
const JOURNAL_SIZE_LIMIT = 1024 * 1024;

/**
 * Resources, revisions and rollout state in SQLite (WAL, synchronous=FULL), so a
 * write that returned survives a crash. Every multi-row change runs in one
 * transaction: an apply is all or nothing. The WAL is folded into the database file
 * at open, every couple of seconds while it holds frames, and past a size bound:
 * without that a process that is always killed (never closed) keeps every write in
 * the WAL alone, and losing that one file loses everything.
 */
export class ResourceStore {
  private readonly db: Database.Database;
  private readonly walPath: string;
  private readonly timer: NodeJS.Timeout;
  /** The database had no tables when opened: a new store (see store-history.ts). */
  readonly created: boolean;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, 'inferd.db');
    this.walPath = `${file}-wal`;
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
    this.db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
    this.created = (this.db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number }).n === 0;
    this.db.exec(SCHEMA);
    this.checkpoint();
    this.timer = setInterval(() => this.checkpointIfWritten(), CHECKPOINT_MS);
    this.timer.unref();
  }

  /**
   * Copies every committed frame into the database file and empties the WAL. Without a busy
   * timeout it never blocks the event loop: when another connection is busy it does what it can
   * and the next tick tries again.
   */
  private checkpoint(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  private checkpointIfWritten(): void {
    try {
      if (statSync(this.walPath, { throwIfNoEntry: false })?.size) this.checkpoint();
    } catch {
      // Busy or closing: the next tick tries again.
    }
  }

  /** The resourceVersion counter, as a number (0 before the first write). */
  version(): number {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'resourceVersion'").get() as { value: string } | undefined;
    return Number(row?.value ?? '0');
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** The next cluster-wide resourceVersion, as etcd's revision counter. */
  nextResourceVersion(): string {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'resourceVersion'").get() as { value: string } | undefined;
    const next = String(Number(row?.value ?? '0') + 1);
    this.db.prepare("INSERT INTO meta (key, value) VALUES ('resourceVersion', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(next);
    return next;
  }

  get(kind: string, namespace: string, name: string): StoredResource | undefined {
    const row = this.db.prepare('SELECT body, base_dir FROM resources WHERE kind = ? AND namespace = ? AND name = ?').get(kind, namespace, name) as { body: string; base_dir: string } | undefined;
    return row && { resource: JSON.parse(row.body) as Resource, baseDir: row.base_dir };
  }

  list(kind?: string): StoredResource[] {
    const rows = (kind
      ? this.db.prepare('SELECT body, base_dir FROM resources WHERE kind = ? ORDER BY namespace, name').all(kind)
      : this.db.prepare('SELECT body, base_dir FROM resources ORDER BY kind, namespace, name').all()) as Array<{ body: string; base_dir: string }>;
    return rows.map((r) => ({ resource: JSON.parse(r.body) as Resource, baseDir: r.base_dir }));
  }

  put(resource: Resource, baseDir: string): void {
    const ns = resource.metadata.namespace ?? 'default';
    this.db
      .prepare('INSERT INTO resources (kind, namespace, name, body, base_dir) VALUES (?, ?, ?, ?, ?) ON CONFLICT(kind, namespace, name) DO UPDATE SET body = excluded.body, base_dir = excluded.base_dir')
      .run(resource.kind, ns, resource.metadata.name, JSON.stringify(resource), baseDir);
  }

  delete(kind: string, namespace: string, name: string): boolean {
    const deleted = this.db.prepare('DELETE FROM resources WHERE kind = ? AND namespace = ? AND name = ?').run(kind, namespace, name).changes > 0;
    if (deleted && kind === 'InferenceService') {
      for (const table of ['revisions', 'rollouts', 'events']) this.db.prepare(`DELETE FROM ${table} WHERE namespace = ? AND name = ?`).run(namespace, name);
    }
    return deleted;
  }

  revisions(namespace: string, name: string): RevisionRecord[] {
    const rows = this.db.prepare('SELECT * FROM revisions WHERE namespace = ? AND name = ? ORDER BY number').all(namespace, name) as Array<Record<string, string | number | null>>;
    return rows.map((r) => {
      const rec: RevisionRecord = {
        number: r.number as number,
        variant: r.variant as string,
        spec: JSON.parse(r.spec as string),
        specHash: r.spec_hash as string,
        createdAt: r.created_at as string,
        outcome: r.outcome as RevisionRecord['outcome'],
      };
      if (r.message) rec.message = r.message as string;
      return rec;
    });
  }

  addRevision(namespace: string, name: string, variant: string, spec: unknown, specHash: string): RevisionRecord {
    const row = this.db.prepare('SELECT MAX(number) AS n FROM revisions WHERE namespace = ? AND name = ?').get(namespace, name) as { n: number | null };
    const rec: RevisionRecord = { number: (row.n ?? 0) + 1, variant, spec, specHash, createdAt: new Date().toISOString(), outcome: 'Pending' };
    this.db
      .prepare('INSERT INTO revisions (namespace, name, number, variant, spec, spec_hash, created_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(namespace, name, rec.number, variant, JSON.stringify(spec), specHash, rec.createdAt, rec.outcome);
    return rec;
  }

  setRevisionOutcome(namespace: string, name: string, number: number, outcome: RevisionRecord['outcome'], message?: string): void {
    this.db.prepare('UPDATE revisions SET outcome = ?, message = ? WHERE namespace = ? AND name = ? AND number = ?').run(outcome, message ?? null, namespace, name, number);
  }

  rollout(namespace: string, name: string): RolloutState {
    const row = this.db.prepare('SELECT latest_rolledout, previous_rolledout FROM rollouts WHERE namespace = ? AND name = ?').get(namespace, name) as
      | { latest_rolledout: number | null; previous_rolledout: number | null }
      | undefined;
    const state: RolloutState = {};
    if (row?.latest_rolledout != null) state.latestRolledout = row.latest_rolledout;
    if (row?.previous_rolledout != null) state.previousRolledout = row.previous_rolledout;
    return state;
  }

  setRollout(namespace: string, name: string, state: RolloutState): void {
    this.db
      .prepare('INSERT INTO rollouts (namespace, name, latest_rolledout, previous_rolledout) VALUES (?, ?, ?, ?) ON CONFLICT(namespace, name) DO UPDATE SET latest_rolledout = excluded.latest_rolledout, previous_rolledout = excluded.previous_rolledout')
      .run(namespace, name, state.latestRolledout ?? null, state.previousRolledout ?? null);
  }

  addEvent(namespace: string, name: string, event: Omit<StoredEvent, 'time'>): void {
    this.db.prepare('INSERT INTO events (namespace, name, time, type, reason, message) VALUES (?, ?, ?, ?, ?, ?)').run(namespace, name, new Date().toISOString(), event.type, event.reason, event.message);
    this.db
      .prepare('DELETE FROM events WHERE namespace = ? AND name = ? AND id NOT IN (SELECT id FROM events WHERE namespace = ? AND name = ? ORDER BY id DESC LIMIT ?)')
      .run(namespace, name, namespace, name, MAX_EVENTS_PER_OBJECT);
  }

  events(namespace: string, name: string, limit = 20): StoredEvent[] {
    const rows = this.db.prepare('SELECT time, type, reason, message FROM events WHERE namespace = ? AND name = ? ORDER BY id DESC LIMIT ?').all(namespace, name, limit) as StoredEvent[];
    return rows.reverse();
  }

  close(): void {
    clearInterval(this.timer);
    this.db.close();
  }
}

export function conflict(message: string): InferdError {
  return new InferdError('conflict', message);
}
