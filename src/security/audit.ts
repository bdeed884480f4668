import { createHash } from 'node:crypto';
import { closeSync, existsSync, fdatasyncSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export const GENESIS = '0'.repeat(64);

export interface AuditEvent {
  /** `key:<id>`, `oidc:<sub>`, `anonymous`, `cli` or `unauthenticated`. */
  principal: string;
  /** What was attempted, e.g. `inferenceservices.delete`, `keys.create`, `auth.denied`. */
  action: string;
  /** What it was attempted on, e.g. `default/iris` or a path. */
  resource: string;
  /** `success`, `denied`, `failure` or an HTTP status. */
  outcome: string;
  requestId?: string;
  /** Short, secret-free extra facts (status code, reason, client address). */
  details?: Record<string, string | number | boolean>;
}

export interface AuditEntry extends AuditEvent {
  seq: number;
  time: string;
  prev: string;
}

/** What `<log>.head` holds: the last entry written and the highest store version an entry recorded. */
export interface AuditHead {
  seq: number;
  hash: string;
  /** `details.storeVersion` of the latest entry that carried one (control-plane changes): the store must be at least this far. */
  storeVersion?: number;
}

/** The head is rewritten in place with each entry: one fixed-size write, padded with spaces (valid JSON). */
const HEAD_BYTES = 256;

export function readAuditHead(path: string): AuditHead | undefined {
  try {
    const head = JSON.parse(readFileSync(`${path}.head`, 'utf8')) as Partial<AuditHead>;
    if (typeof head.seq !== 'number' || typeof head.hash !== 'string') return undefined;
    return { seq: head.seq, hash: head.hash, ...(typeof head.storeVersion === 'number' ? { storeVersion: head.storeVersion } : {}) };
  } catch {
    return undefined;
  }
}

export function entryHash(prev: string, body: string): string {
  return createHash('sha256').update(prev).update('\n').update(body).digest('hex');
}

/**
 * Append-only, hash-chained JSON lines: every entry carries `prev` (the hash of the
 * previous entry) and `hash` = sha256(prev + the entry without `hash`). Editing,
 * removing or reordering a line breaks the chain at that line; the `.head` file holds
 * the last (seq, hash), rewritten with every entry, so truncating the end is caught too.
 * A log found shorter than its head at start (its tail removed while inferd was down)
 * continues from the head, so the gap stays in the chain for `inferd audit verify`.
 * Rotation renames the file to `.1` (older ones shift up) and the chain continues in the new file.
 */
export class AuditLog {
  private fd: number;
  private readonly headFd: number;
  private size: number;
  private seq = 0;
  private prev = GENESIS;
  private storeVersion: number | undefined;
  /** Set when the log ended before its head at start: the entries between were removed. */
  readonly missingTail: { logSeq: number; headSeq: number } | undefined;

  constructor(readonly path: string, private readonly opts: { maxBytes: number; keep: number }) {
    mkdirSync(dirname(path), { recursive: true });
    const last = lastEntry(path) ?? lastEntry(`${path}.1`);
    if (last) {
      this.seq = last.seq;
      this.prev = last.hash;
    }
    const head = readAuditHead(path);
    this.storeVersion = head?.storeVersion;
    if (head && head.seq > this.seq) {
      this.missingTail = { logSeq: this.seq, headSeq: head.seq };
      this.seq = head.seq;
      this.prev = head.hash;
    }
    this.fd = openSync(path, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
    // Overwritten in place (never truncated first): a crash at any point leaves a whole head.
    this.headFd = openSync(`${path}.head`, existsSync(`${path}.head`) ? 'r+' : 'w+', 0o600);
    this.writeHead();
  }

  /**
   * Appends one entry synchronously (the line is on disk, in order, before the call returns),
   * then the head. `durable` also flushes the line to stable storage: a control-plane change
   * and its entry survive a power loss together.
   */
  record(event: AuditEvent, durable = false): AuditEntry {
    const entry: AuditEntry = { seq: this.seq + 1, time: new Date().toISOString(), principal: event.principal, action: event.action, resource: event.resource, outcome: event.outcome, prev: this.prev };
    if (event.requestId !== undefined) entry.requestId = event.requestId;
    if (event.details !== undefined) entry.details = event.details;
    const body = JSON.stringify(entry);
    const hash = entryHash(this.prev, body);
    const line = `${body.slice(0, -1)},"hash":"${hash}"}\n`;
    if (this.size > 0 && this.size + line.length > this.opts.maxBytes) this.rotate();
    writeSync(this.fd, line);
    if (durable) fdatasyncSync(this.fd);
    this.size += Buffer.byteLength(line);
    this.seq = entry.seq;
    this.prev = hash;
    const version = event.details?.storeVersion;
    // The latest, not the highest: a store.reset entry lowers it on purpose; otherwise versions only grow.
    if (typeof version === 'number') this.storeVersion = version;
    this.writeHead();
    return entry;
  }

  /** After the line, never before: a crash between the two leaves the head behind the log (fine), not ahead (a false alarm). */
  private writeHead(): void {
    const head: AuditHead = { seq: this.seq, hash: this.prev, ...(this.storeVersion === undefined ? {} : { storeVersion: this.storeVersion }) };
    writeSync(this.headFd, JSON.stringify(head).padEnd(HEAD_BYTES - 1, ' ') + '\n', 0);
  }

  private rotate(): void {
    closeSync(this.fd);
    if (this.opts.keep === 0) rmSync(this.path, { force: true });
    else {
      rmSync(`${this.path}.${this.opts.keep}`, { force: true });
      for (let i = this.opts.keep - 1; i >= 1; i--) if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      renameSync(this.path, `${this.path}.1`);
    }
    this.fd = openSync(this.path, 'a', 0o600);
    this.size = 0;
  }

  close(): void {
    closeSync(this.headFd);
    closeSync(this.fd);
  }
}

function lastEntry(path: string): { seq: number; hash: string } | undefined {
  if (!existsSync(path)) return undefined;
  const size = statSync(path).size;
  if (size === 0) return undefined;
  const n = Math.min(size, 256 * 1024);
  const buf = Buffer.alloc(n);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, n, size - n);
  } finally {
    closeSync(fd);
  }
  const lines = buf.toString('utf8').split('\n').filter((l) => l.trim() !== '');
  const last = lines.at(-1);
  if (!last) return undefined;
  try {
    const e = JSON.parse(last) as { seq?: unknown; hash?: unknown };
    if (typeof e.seq === 'number' && typeof e.hash === 'string') return { seq: e.seq, hash: e.hash };
  } catch {
    // A torn last line: start a fresh chain link from what verify will report.
  }
  return undefined;
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  files: string[];
  /** `file:line: reason` of the first break. */
  error?: string;
}

/** The log's files oldest first: `path.N` .. `path.1`, `path`. */
export function auditFiles(path: string): string[] {
  const rotated: string[] = [];
  for (let i = 1; existsSync(`${path}.${i}`); i++) rotated.push(`${path}.${i}`);
  return [...rotated.reverse(), ...(existsSync(path) ? [path] : [])];
}

/**
 * Walks the chain across rotated files. The first entry may link to a rotated file
 * that was deleted by `keep` (its `prev` is trusted, its seq starts the count); after
 * that every line must parse, hash to its `hash`, link to the previous hash and count
 * up by one.
 */
export function verifyAudit(path: string): VerifyResult {
  const files = auditFiles(path);
  let prev: string | undefined;
  let seq: number | undefined;
  let entries = 0;
  const fail = (file: string, line: number, reason: string): VerifyResult => ({ ok: false, entries, files, error: `${file}:${line}: ${reason}` });
  let lastFile = path;
  let lastLine = 0;
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    for (let i = 0; i < lines.length; i++) {
      const n = i + 1;
      const text = lines[i]!;
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return fail(file, n, 'not a JSON line (edited or torn)');
      }
      if (typeof e !== 'object' || e === null || typeof e.hash !== 'string' || typeof e.prev !== 'string' || typeof e.seq !== 'number') return fail(file, n, 'missing seq/prev/hash');
      const { hash, ...rest } = e;
      const body = JSON.stringify(rest);
      if (entryHash(e.prev, body) !== hash) return fail(file, n, `entry seq ${e.seq} does not match its hash (edited)`);
      if (prev !== undefined && e.prev !== prev) return fail(file, n, `entry seq ${e.seq} does not follow the previous entry (a line before it was removed, edited or reordered)`);
      if (seq !== undefined && e.seq !== seq + 1) return fail(file, n, `entry seq ${e.seq} where ${seq + 1} was expected (lines removed or reordered)`);
      if (prev === undefined && e.seq === 1 && e.prev !== GENESIS) return fail(file, n, 'first entry does not start the chain');
      prev = hash as string;
      seq = e.seq;
      entries++;
      lastFile = file;
      lastLine = n;
    }
  }
  const head = readAuditHead(path);
  if (!head) {
    if (entries > 0) return fail(`${path}.head`, 1, 'the head file is missing or unreadable (removed or edited), so a removed tail cannot be ruled out');
  } else {
    if (head.seq > (seq ?? 0)) return fail(lastFile, lastLine + 1, `the log ends at seq ${seq ?? 0} but ${head.seq} entries were written (lines removed at the end)`);
    if (head.seq === seq && head.hash !== prev) return fail(lastFile, lastLine, `last entry seq ${seq} differs from the one written`);
  }
  return { ok: true, entries, files };
}
