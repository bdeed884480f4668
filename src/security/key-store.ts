import Database from 'better-sqlite3';
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { InferdError } from '../api/errors.js';
import { isRole, ROLES, type Role } from './roles.js';

/** scrypt parameters (RFC 7914's interactive-login choice): ~16 MiB and tens of ms per hash. */
const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const KEY_PREFIX = 'ik_';
const ID_RE = /^[0-9a-f]{12}$/;

function scrypt(secret: string, salt: Buffer, opts: ScryptOptions & { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(secret, salt, 32, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

export interface ApiKeyInfo {
  id: string;
  /** What `keys list` shows: enough to recognise the key, useless to use it. */
  prefix: string;
  role: Role;
  namespaces: string[] | '*';
  description?: string;
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  lastUsedAt?: string;
  /** active | expired | revoked */
  state: string;
}

export interface CreateKeyOptions {
  role: Role;
  namespaces: string[] | '*';
  expiresAt?: Date;
  description?: string;
}

interface Row {
  id: string;
  hash: string;
  role: string;
  namespaces: string;
  description: string | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY, hash TEXT NOT NULL, role TEXT NOT NULL, namespaces TEXT NOT NULL,
  description TEXT, created_at TEXT NOT NULL, expires_at TEXT, revoked_at TEXT, last_used_at TEXT);
`;

/**
 * API keys in inferd's SQLite database (own table, own connection). A key is
 * `ik_<id>_<secret>`: the id finds the row, only a salted scrypt hash of the secret
 * is stored, and the full key is shown once at creation. Revocation and expiry take
 * effect on the next request (a write by another process to the database: within a second).
 */
export class KeyStore {
  private readonly db: Database.Database;
  /**
   * Key → its record, for keys whose scrypt check passed: scrypt runs once per key, and a
   * request with a known key hashes nothing and reads no row (sha256 of the key cost ~1 µs,
   * as much as the rest of authentication; the process holds each request's key anyway) (a SQLite read costs ~14 µs, a
   * tenth of a tiny model's request). A record is trusted only while the table is unchanged
   * (`generation`) and the key unexpired; then the row is read again, so revocation and
   * expiry take effect on the next request.
   */
  private readonly verified = new Map<string, Verified>();
  /**
   * Keys whose scrypt check is running: a client opening many connections with a new key sends
   * them all before the first check ends, and each would otherwise run scrypt (64 connections
   * took 64 hashes, over a second of both cores here); they share one.
   */
  private readonly checking = new Map<string, Promise<ApiKeyInfo | undefined>>();
  /** Recent failures (well-formed keys only, so at most 59 characters each), so a wrong key repeated does not cost a hash each time. */
  private readonly failed = new Map<string, number>();
  /** Prepared once: `verify` runs it on every authenticated request (preparing cost ~10 µs each time). */
  private readonly rowById: Database.Statement<[string], Row>;
  private readonly dataVersion: Database.Statement<[], number>;
  /** Bumped by every change to the table made here, and when another connection wrote the database. */
  private generation = 0;
  private seenDataVersion: number;
  private dataVersionReadAt = 0;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, 'inferd.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.rowById = this.db.prepare<[string], Row>('SELECT * FROM api_keys WHERE id = ?');
    this.dataVersion = this.db.prepare<[], number>('PRAGMA data_version').pluck();
    this.seenDataVersion = this.dataVersion.get()!;
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM api_keys').get() as { n: number }).n;
  }

  async create(opts: CreateKeyOptions): Promise<{ key: string; info: ApiKeyInfo }> {
    if (!isRole(opts.role)) throw new InferdError('invalid_input', `role must be one of ${ROLES.join(', ')}`);
    const ns = opts.namespaces === '*' ? '*' : opts.namespaces.map((n) => n.trim()).filter(Boolean);
    if (ns !== '*' && (ns.length === 0 || ns.some((n) => !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n)))) {
      throw new InferdError('invalid_input', 'namespaces must be DNS labels (or * for all)');
    }
    if (opts.expiresAt && !(opts.expiresAt.getTime() > Date.now())) throw new InferdError('invalid_input', 'expiry must be in the future');
    const id = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const salt = randomBytes(16);
    const hash = await scrypt(secret, salt, SCRYPT);
    const stored = `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
    this.db
      .prepare('INSERT INTO api_keys (id, hash, role, namespaces, description, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, stored, opts.role, ns === '*' ? '*' : ns.join(','), opts.description ?? null, new Date().toISOString(), opts.expiresAt?.toISOString() ?? null);
    this.generation++;
    return { key: `${KEY_PREFIX}${id}_${secret}`, info: this.get(id)! };
  }

  get(id: string): ApiKeyInfo | undefined {
    const row = this.rowById.get(id);
    return row && toInfo(row);
  }

  list(): ApiKeyInfo[] {
    return (this.db.prepare('SELECT * FROM api_keys ORDER BY created_at, id').all() as Row[]).map(toInfo);
  }

  /** Accepts the id or the `ik_<id>` prefix as `keys list` shows it. */
  revoke(idOrPrefix: string): ApiKeyInfo {
    const id = idOrPrefix.startsWith(KEY_PREFIX) ? idOrPrefix.slice(KEY_PREFIX.length).split('_')[0]! : idOrPrefix;
    const changed = this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(new Date().toISOString(), id).changes;
    this.generation++;
    const info = ID_RE.test(id) ? this.get(id) : undefined;
    if (!info) throw new InferdError('not_found', `no API key ${idOrPrefix}`);
    if (changed === 0 && info.state !== 'revoked') throw new InferdError('conflict', `API key ${info.prefix} could not be revoked`);
    return info;
  }

  /**
   * The key's record when the key is valid, active and unexpired; undefined otherwise.
   * Synchronous for a key verified (or refused) recently; a Promise only while scrypt runs.
   */
  verify(key: string): ApiKeyInfo | undefined | Promise<ApiKeyInfo | undefined> {
    const m = /^ik_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/.exec(key);
    if (!m) return undefined;
    const id = m[1]!;
    const known = this.verified.get(key);
    if (known?.id === id && known.generation === this.currentGeneration() && Date.now() < known.until) return this.touch(id, known.info);
    const row = this.rowById.get(id);
    if (!row) return undefined;
    const info = toInfo(row);
    if (info.state !== 'active') return undefined;
    if (known?.id === id) return this.admit(key, info);
    const failedAt = this.failed.get(key);
    if (failedAt !== undefined && Date.now() - failedAt < 60_000) return undefined;
    const running = this.checking.get(key);
    if (running) return running;
    const check = checkHash(m[2]!, row.hash)
      .then((ok) => {
        if (!ok) {
          remember(this.failed, key, Date.now());
          return undefined;
        }
        // The record as it is now: a key revoked while scrypt ran must not be remembered as valid.
        const current = this.get(id);
        return current?.state === 'active' ? this.admit(key, current) : undefined;
      })
      .finally(() => this.checking.delete(key));
    this.checking.set(key, check);
    return check;
  }

  /** Remembers a key that passed scrypt with its current record. */
  private admit(key: string, info: ApiKeyInfo): ApiKeyInfo {
    const until = info.expiresAt ? Date.parse(info.expiresAt) : Infinity;
    remember(this.verified, key, { id: info.id, info, generation: this.generation, until });
    return this.touch(info.id, info);
  }

  /**
   * The table's generation. Changes made through this store bump it at once; a write by
   * another connection (which SQLite's `data_version` reports) is looked for at most once a
   * second, since asking costs as much as reading the row.
   */
  private currentGeneration(): number {
    const now = Date.now();
    if (now - this.dataVersionReadAt >= 1000) {
      this.dataVersionReadAt = now;
      const v = this.dataVersion.get()!;
      if (v !== this.seenDataVersion) {
        this.seenDataVersion = v;
        this.generation++;
      }
    }
    return this.generation;
  }

  private lastTouch = new Map<string, number>();
  /** Records a use (last_used_at, written at most once a minute per key) and passes the key's record on. */
  private touch(id: string, info: ApiKeyInfo): ApiKeyInfo {
    const now = Date.now();
    if (now - (this.lastTouch.get(id) ?? 0) < 60_000) return info;
    this.lastTouch.set(id, now);
    this.db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(new Date(now).toISOString(), id);
    return info;
  }

  close(): void {
    this.db.close();
  }
}

interface Verified {
  id: string;
  info: ApiKeyInfo;
  generation: number;
  /** The key's expiry (ms since the epoch), Infinity when it has none. */
  until: number;
}

function remember<V>(map: Map<string, V>, k: string, v: V): void {
  if (map.size >= 10_000) map.delete(map.keys().next().value!);
  map.set(k, v);
}

async function checkHash(secret: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64');
  const got = await scrypt(secret, Buffer.from(salt, 'base64'), { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem });
  return got.length === want.length && timingSafeEqual(got, want);
}

function toInfo(row: Row): ApiKeyInfo {
  const info: ApiKeyInfo = {
    id: row.id,
    prefix: `${KEY_PREFIX}${row.id}`,
    role: isRole(row.role) ? row.role : 'viewer',
    namespaces: row.namespaces === '*' ? '*' : row.namespaces.split(','),
    createdAt: row.created_at,
    state: row.revoked_at ? 'revoked' : row.expires_at && Date.parse(row.expires_at) <= Date.now() ? 'expired' : 'active',
  };
  if (row.description) info.description = row.description;
  if (row.expires_at) info.expiresAt = row.expires_at;
  if (row.revoked_at) info.revokedAt = row.revoked_at;
  if (row.last_used_at) info.lastUsedAt = row.last_used_at;
  return info;
}

/** `30m`, `12h`, `7d`, `2w` or an ISO date → the expiry instant. */
export function parseExpiry(text: string, now = Date.now()): Date {
  const m = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (m) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
    return new Date(now + Number(m[1]) * unit * 1000);
  }
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new InferdError('invalid_input', `expiry ${JSON.stringify(text)}: expected a duration like 30d, 12h, 90m or an ISO date`);
  return new Date(t);
}
