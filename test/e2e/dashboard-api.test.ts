import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { startInferd, type InferdProcess } from '../helpers/inferd-process.js';
import { SLOW_JS_RUNTIME } from '../helpers/fixtures.js';
import { adminKeyOf } from '../helpers/keys.js';

const INFERD = '/apis/inferd.dev/v1';
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const BODY = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] });

/** A stand-in for the built dashboard (what vite writes to dist/ui), so these tests do not depend on the UI build. */
function uiFixture(): { dir: string; js: string } {
  const dir = mkdtempSync(join(tmpdir(), 'inferd-ui-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><html><head><script type="module" src="/ui/assets/index-AbCd1234.js"></script></head><body><div id="app"></div></body></html>\n');
  const js = `export const rows = ${JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ i, name: `model-${i}` })))};\n`;
  writeFileSync(join(dir, 'assets/index-AbCd1234.js'), js);
  writeFileSync(join(dir, 'assets/logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return { dir, js };
}

function manifests(): string {
  const dir = mkdtempSync(join(tmpdir(), 'inferd-dash-'));
  const isvc = (ns: string, name: string) => `---\napiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: {predictor: {model: {modelFormat: {name: slow}}}}\n`;
  writeFileSync(join(dir, 'models.yaml'), `${SLOW_JS_RUNTIME}${isvc('team-a', 'echo')}${isvc('team-b', 'secret-model')}`);
  return join(dir, 'models.yaml');
}

async function call(base: string, method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

/** A GET with the path sent byte for byte (fetch would normalise `..` away before sending). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function poll<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface SseEvent {
  event: string;
  data: string;
}

/**
 * Reads the watch stream as the dashboard does (a GET with the Authorization header,
 * read as it arrives). node:http on its own socket rather than fetch(): undici opens a
 * spare connection after an abort, which would hold the server's graceful stop open.
 */
async function watch(base: string, token?: string) {
  const url = new URL(`${base}${INFERD}/watch`);
  const events: SseEvent[] = [];
  let raw = '';
  const waiters: Array<() => void> = [];
  let req!: ClientRequest;
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, agent: false, headers: token ? { authorization: `Bearer ${token}` } : {} }, resolve);
    req.on('error', reject);
    req.end();
  });
  let buf = '';
  const ended = new Promise<void>((resolve) => res.on('close', resolve));
  res.setEncoding('utf8');
  res.on('data', (text: string) => {
    raw += text;
    buf += text;
    let end: number;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const ev = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (ev && data !== undefined) events.push({ event: ev, data });
      for (const w of waiters.splice(0)) w();
    }
  });
  return {
    status: res.statusCode!,
    headers: res.headers,
    events,
    get raw() {
      return raw;
    },
    until(pred: (e: SseEvent) => boolean, what: string, timeoutMs = 20_000): Promise<SseEvent> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what} on the watch stream; got ${events.map((e) => e.event).join(',')}`)), timeoutMs);
        const check = () => {
          const hit = events.find(pred);
          if (hit) {
            clearTimeout(timer);
            resolve(hit);
          } else waiters.push(check);
        };
        check();
      });
    },
    async close() {
      req.destroy();
      await ended;
    },
  };
}

describe('dashboard server side: /ui, whoami, keys, audit, server, watch', () => {
  let srv: InferdProcess;
  let open: InferdProcess;
  let admin: string;
  let dataDir: string;
  let ui: { dir: string; js: string };
  const keys: Record<string, string> = {};

  before(async () => {
    ui = uiFixture();
    dataDir = mkdtempSync(join(tmpdir(), 'inferd-dash-data-'));
    srv = await startInferd(['-f', manifests(), '--auth', 'keys'], { dataDir, env: { INFERD_UI_DIR: ui.dir } });
    admin = adminKeyOf(dataDir);
    // A second server without auth and without a built UI.
    open = await startInferd([], { env: { INFERD_UI_DIR: mkdtempSync(join(tmpdir(), 'inferd-no-ui-')) } });
    const create = async (role: string, namespaces: unknown) => {
      const r = await call(srv.http, 'POST', `${INFERD}/keys`, admin, { role, namespaces });
      assert.equal(r.status, 201, r.text);
      return r.json.key as string;
    };
    keys.viewer = await create('viewer', ['team-a']);
    keys.deployer = await create('deployer', ['team-a', 'team-c']);
    keys.predictorB = await create('predictor', ['team-b']);
    await poll(async () => ((await call(srv.http, 'GET', '/v2/models/echo/ready', admin, undefined, { 'inferd-namespace': 'team-a' })).status === 200 ? true : undefined), 'team-a/echo ready');
    await poll(async () => ((await call(srv.http, 'GET', '/v2/models/secret-model/ready', admin)).status === 200 ? true : undefined), 'team-b/secret-model ready');
  });
  after(async () => {
    await srv?.stop();
    await open?.stop();
  });

  it('serves /ui/ without credentials, with the security headers on every answer', async () => {
    for (const path of ['/ui/', '/ui/assets/index-AbCd1234.js', '/ui/assets/nothing-12345678.js', '/ui']) {
      const r = await fetch(`${srv.http}${path}`, { redirect: 'manual' });
      await r.arrayBuffer();
      assert.equal(r.headers.get('content-security-policy'), CSP, path);
      assert.equal(r.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(r.headers.get('referrer-policy'), 'no-referrer', path);
      assert.equal(r.headers.get('cross-origin-opener-policy'), 'same-origin', path);
    }
    const redirect = await fetch(`${srv.http}/ui`, { redirect: 'manual' });
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.get('location'), '/ui/');
    const index = await call(srv.http, 'GET', '/ui/');
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type')!, /^text\/html/);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    assert.equal(index.text, readFileSync(join(ui.dir, 'index.html'), 'utf8'));
    // The admin API next to it still needs a credential.
    assert.equal((await call(srv.http, 'GET', `${INFERD}/server`)).status, 401);
  });

  it('keeps the static files open when health probes and /metrics need credentials (publicHealth: false)', async () => {
    const cfg = join(mkdtempSync(join(tmpdir(), 'inferd-dash-cfg-')), 'inferd.yaml');
    writeFileSync(cfg, 'security:\n  publicHealth: false\n');
    const closed = await startInferd(['--auth', 'keys', '--config', cfg], { env: { INFERD_UI_DIR: ui.dir } });
    try {
      assert.equal((await call(closed.http, 'GET', '/ui/')).status, 200);
      assert.equal((await call(closed.http, 'GET', '/ui/assets/index-AbCd1234.js')).status, 200);
      assert.equal((await call(closed.http, 'GET', '/metrics')).status, 401);
      assert.equal((await call(closed.http, 'GET', `${INFERD}/whoami`)).status, 401);
    } finally {
      await closed.stop();
    }
  });

  it('answers client-side routes with index.html and hashed assets as immutable files, pre-compressed on request', async () => {
    for (const path of ['/ui/models', '/ui/models/echo', '/ui/keys?x=1']) {
      const r = await call(srv.http, 'GET', path);
      assert.equal(r.status, 200, path);
      assert.match(r.text, /<div id="app">/, path);
    }
    const plain = await call(srv.http, 'GET', '/ui/assets/index-AbCd1234.js', undefined, undefined, { 'accept-encoding': 'identity' });
    assert.equal(plain.status, 200);
    assert.match(plain.headers.get('content-type')!, /^text\/javascript/);
    assert.equal(plain.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(plain.text, ui.js);
    // fetch() would decode for us: read the bytes as sent.
    for (const enc of ['gzip', 'br'] as const) {
      const got = await new Promise<{ encoding?: string; bytes: Buffer }>((resolve, reject) => {
        const u = new URL(srv.http);
        httpRequest({ host: u.hostname, port: u.port, path: '/ui/assets/index-AbCd1234.js', headers: { 'accept-encoding': enc } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ encoding: res.headers['content-encoding'], bytes: Buffer.concat(chunks) }));
        }).on('error', reject).end();
      });
      assert.equal(got.encoding, enc);
      assert.ok(got.bytes.length < ui.js.length);
      assert.equal((enc === 'gzip' ? gunzipSync(got.bytes) : brotliDecompressSync(got.bytes)).toString(), ui.js);
    }
    const svg = await call(srv.http, 'GET', '/ui/assets/logo.svg');
    assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
    assert.equal(svg.headers.get('cache-control'), 'no-cache', 'an unhashed name can change content');
    const missing = await call(srv.http, 'GET', '/ui/assets/nothing-12345678.js');
    assert.equal(missing.status, 404);
    assert.equal(typeof missing.json.error, 'string');
  });

  it('never serves a file outside the UI, however the path is spelled', async () => {
    const attempts = [
      '/ui/../package.json',
      '/ui/../../package.json',
      '/ui/assets/../../package.json',
      '/ui/assets/..%2f..%2fpackage.json',
      '/ui/assets/..%2F..%2F..%2Fpackage.json',
      '/ui/%2e%2e/%2e%2e/package.json',
      '/ui/assets/%2e%2e%2f%2e%2e%2fpackage.json',
      '/ui/assets/%252e%252e%252fpackage.json',
      '/ui/assets/..%5c..%5cpackage.json',
      '/ui/assets/....//....//package.json',
      '/ui/assets//etc/passwd.txt',
      '/ui/index.html/../../package.json',
      '/ui/assets/%00../package.json',
    ];
    for (const path of attempts) {
      const r = await rawGet(srv.http, path);
      assert.ok(!r.body.includes('devDependencies') && !r.body.includes('root:'), `${path} served a file`);
      assert.equal(r.status, 404, `${path}: ${r.body}`);
    }
  });

  it('says to build the UI when it is not built', async () => {
    const r = await call(open.http, 'GET', '/ui/');
    assert.equal(r.status, 503);
    assert.match(r.json.error, /npm run build/);
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
  });

  it('whoami: roles, namespaces, permissions and how the caller signed in', async () => {
    const me = async (token?: string, base = srv.http) => (await call(base, 'GET', `${INFERD}/whoami`, token)).json;
    const a = await me(admin);
    assert.deepEqual([a.roles, a.namespaces, a.permissions, a.auth], [['admin'], '*', ['read', 'infer', 'deploy', 'admin', 'metrics'], 'key']);
    assert.match(a.subject, /^key:[0-9a-f]{12}$/);
    const v = await me(keys.viewer);
    assert.deepEqual([v.roles, v.namespaces, v.permissions, v.auth], [['viewer'], ['team-a'], ['read'], 'key']);
    const d = await me(keys.deployer);
    assert.deepEqual([d.roles, d.namespaces, d.permissions], [['deployer'], ['team-a', 'team-c'], ['read', 'infer', 'deploy']]);
    const none = await me(undefined, open.http);
    assert.deepEqual([none.roles, none.namespaces, none.auth], [['admin'], '*', 'none']);
    assert.equal((await call(srv.http, 'GET', `${INFERD}/whoami`)).status, 401);
  });

  it('keys: create shows the key once (not in the list, not in the audit log), revoke takes effect at once', async () => {
    const created = await call(srv.http, 'POST', `${INFERD}/keys`, admin, { role: 'predictor', namespaces: ['team-a'], expires: '30d', description: 'dashboard test' });
    assert.equal(created.status, 201, created.text);
    const { key, item } = created.json;
    assert.match(key, /^ik_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(item.prefix, key.slice(0, 15));
    assert.deepEqual([item.role, item.namespaces, item.revoked, item.description], ['predictor', ['team-a'], false, 'dashboard test']);
    assert.ok(Date.parse(item.expiresAt) > Date.now());
    assert.ok(!JSON.stringify(item).includes(key.slice(16)) && !('hash' in item));
    const secret = key.slice(16);

    const list = await call(srv.http, 'GET', `${INFERD}/keys`, admin);
    assert.equal(list.status, 200);
    assert.ok(!list.text.includes(secret), 'the list never holds a key');
    assert.ok(!list.text.includes('scrypt'), 'nor a hash');
    const listed = list.json.items.find((i: { prefix: string }) => i.prefix === item.prefix);
    assert.deepEqual(listed, item);
    assert.ok(list.json.items.some((i: { expiresAt: unknown; role: string }) => i.expiresAt === null && i.role === 'admin'), 'no expiry is null');

    assert.equal((await call(srv.http, 'POST', '/v2/models/echo/infer', key, BODY)).status, 200);
    const revoked = await call(srv.http, 'DELETE', `${INFERD}/keys/${item.id}`, admin);
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal(revoked.json.revoked, true);
    assert.equal((await call(srv.http, 'POST', '/v2/models/echo/infer', key, BODY)).status, 401);
    assert.equal((await call(srv.http, 'GET', `${INFERD}/whoami`, key)).status, 401);
    const after = (await call(srv.http, 'GET', `${INFERD}/keys`, admin)).json.items.find((i: { id: string }) => i.id === item.id);
    assert.equal(after.revoked, true);
    assert.equal((await call(srv.http, 'DELETE', `${INFERD}/keys/0123456789ab`, admin)).status, 404);

    const audit = await call(srv.http, 'GET', `${INFERD}/audit?limit=1000`, admin);
    assert.ok(!audit.text.includes(secret) && !readFileSync(join(dataDir, 'audit.log'), 'utf8').includes(secret), 'the key is never audited');
    const actions = audit.json.items.filter((e: { resource: string }) => e.resource === item.prefix).map((e: { action: string }) => e.action);
    assert.deepEqual(actions, ['keys.revoke', 'keys.create']);
  });

  it('keys: a bad body answers 400 naming the field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ role: 'superuser', namespaces: ['a'] }, /role/],
      [{ role: 'viewer', namespaces: ['Team_A'] }, /namespaces/],
      [{ role: 'viewer', namespaces: [] }, /namespaces/],
      [{ role: 'viewer', namespaces: [1] }, /namespaces/],
      [{ role: 'viewer', namespaces: '*', expires: 'soon' }, /expires/],
      [{ role: 'viewer', namespaces: '*', expires: 30 }, /expires/],
      [{ role: 'viewer', namespaces: '*', expires: '2001-01-01T00:00:00Z' }, /expires/],
      [{ role: 'viewer', namespaces: '*', description: 'x'.repeat(201) }, /description/],
      [[1, 2], /object/],
      ['{not json', /JSON/],
    ];
    for (const [body, field] of cases) {
      const r = await call(srv.http, 'POST', `${INFERD}/keys`, admin, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.json.error, field, JSON.stringify(body));
    }
    const all = await call(srv.http, 'POST', `${INFERD}/keys`, admin, { role: 'viewer', namespaces: '*', expires: null });
    assert.equal(all.status, 201, all.text);
    assert.deepEqual([all.json.item.namespaces, all.json.item.expiresAt], ['*', null]);
  });

  it('viewers and deployers get 403 on keys, audit and the server view', async () => {
    for (const token of [keys.viewer, keys.deployer]) {
      for (const [m, p, b] of [['GET', `${INFERD}/keys`], ['POST', `${INFERD}/keys`, { role: 'admin', namespaces: '*' }], ['DELETE', `${INFERD}/keys/0123456789ab`], ['GET', `${INFERD}/audit`], ['GET', `${INFERD}/audit/verify`], ['GET', `${INFERD}/server`]] as const) {
        assert.equal((await call(srv.http, m, p, token, b)).status, 403, `${m} ${p}`);
      }
    }
  });

  it('audit: newest entries first, bounded by limit, and the chain verifies', async () => {
    const r = await call(srv.http, 'GET', `${INFERD}/audit?limit=5`, admin);
    assert.equal(r.status, 200);
    const seqs = r.json.items.map((e: { seq: number }) => e.seq);
    assert.equal(seqs.length, 5);
    assert.deepEqual(seqs, [...seqs].sort((a: number, b: number) => b - a));
    assert.ok(r.json.items.every((e: Record<string, unknown>) => typeof e.action === 'string' && typeof e.hash === 'string'));
    const all = (await call(srv.http, 'GET', `${INFERD}/audit?limit=1000`, admin)).json.items;
    assert.equal(all.at(-1).seq, 1, 'reaches back to the first entry');
    assert.equal(all.at(-1).action, 'keys.bootstrap');
    for (const bad of ['0', '-1', 'x', '1001', '1.5']) assert.equal((await call(srv.http, 'GET', `${INFERD}/audit?limit=${bad}`, admin)).status, 400, bad);
    const v = await call(srv.http, 'GET', `${INFERD}/audit/verify`, admin);
    assert.equal(v.status, 200);
    assert.equal(v.json.ok, true, v.text);
    assert.ok(v.json.entries >= all.length);
    assert.deepEqual(v.json.files, [join(dataDir, 'audit.log')]);
  });

  it('server: memory, models, load history and process figures', async () => {
    const s = await poll(async () => {
      const r = await call(srv.http, 'GET', `${INFERD}/server`, admin);
      return r.json.history.some((h: { kind: string; name: string }) => h.kind === 'load' && h.name === 'echo') ? r.json : undefined;
    }, 'a load in the history');
    assert.equal(typeof s.memory.usedBytes, 'number');
    assert.ok('budgetBytes' in s.memory);
    const echo = s.models.find((m: { namespace: string; name: string }) => m.namespace === 'team-a' && m.name === 'echo');
    assert.equal(echo.state, 'Loaded');
    assert.match(echo.revision, /^echo-predictor-\d+$/);
    assert.ok(!Number.isNaN(Date.parse(echo.lastUsed)));
    const load = s.history.find((h: { kind: string; name: string }) => h.kind === 'load' && h.name === 'echo');
    assert.deepEqual([load.namespace, typeof load.bytes, Number.isNaN(Date.parse(load.time))], ['team-a', 'number', false]);
    for (const k of ['cpuPercent', 'rssBytes', 'heapUsedBytes', 'eventLoopLagSeconds', 'uptimeSeconds']) assert.equal(typeof s.process[k], 'number', k);
    assert.ok(s.process.rssBytes > 0);
    assert.ok(s.gpu === null || Array.isArray(s.gpu));
  });

  it('watch: Server-Sent Events of top and resources, never another namespace', async () => {
    assert.equal((await call(srv.http, 'GET', `${INFERD}/watch`)).status, 401);
    // Traffic in team-b so its models are busy in `top` while team-a watches.
    assert.equal((await call(srv.http, 'POST', '/v2/models/secret-model/infer', keys.predictorB, BODY)).status, 200);
    const a = await watch(srv.http, keys.viewer);
    const all = await watch(srv.http, admin);
    try {
      assert.equal(a.status, 200);
      assert.match(a.headers['content-type']!, /^text\/event-stream/);
      assert.equal(a.headers['cache-control'], 'no-cache');
      const first = JSON.parse((await a.until((e) => e.event === 'resources', 'resources')).data);
      assert.deepEqual(first.items.map((i: { metadata: { namespace: string; name: string } }) => `${i.metadata.namespace}/${i.metadata.name}`), ['team-a/echo']);
      assert.equal(first.items[0].status.components.predictor.traffic[0].percent, 100);
      const top = JSON.parse((await a.until((e) => e.event === 'top' && JSON.parse(e.data).models.length > 0, 'top')).data);
      const direct = (await call(srv.http, 'GET', `${INFERD}/top`, keys.viewer)).json;
      assert.deepEqual(Object.keys(top).sort(), Object.keys(direct).sort(), 'the same document as GET top');
      assert.deepEqual(top.models.map((m: { namespace: string; model: string }) => `${m.namespace}/${m.model}`), direct.models.map((m: { namespace: string; model: string }) => `${m.namespace}/${m.model}`));
      // Control: the admin's stream does carry team-b.
      await all.until((e) => e.event === 'resources' && e.data.includes('secret-model'), 'team-b for the admin');
      await all.until((e) => e.event === 'top' && e.data.includes('secret-model'), 'team-b in top for the admin');

      // Changes arrive without polling: a new model in team-b (hidden), then one in team-a (seen).
      const apply = (ns: string, name: string) => call(srv.http, 'POST', `${INFERD}/apply`, admin, `apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: {predictor: {model: {modelFormat: {name: slow}}}}\n`);
      assert.equal((await apply('team-b', 'b-only')).status, 200);
      assert.equal((await apply('team-a', 'a-new')).status, 200);
      await a.until((e) => e.event === 'resources' && e.data.includes('"a-new"'), 'the new team-a model');
      await all.until((e) => e.event === 'resources' && e.data.includes('"b-only"'), 'the new team-b model for the admin');
      await a.until((e) => e.event === 'top' && e.data.includes('"a-new"'), 'the new team-a model in top');
      for (const needle of ['team-b', 'secret-model', 'b-only']) assert.ok(!a.raw.includes(needle), `team-a's stream mentions ${needle}`);
    } finally {
      await a.close();
      await all.close();
    }
    // Disconnected watchers are gone.
    await poll(async () => ((await call(srv.http, 'GET', `${INFERD}/server`, admin)).json.dashboard.watchers === 0 ? true : undefined), 'watchers to close');
  });

  it('watch: one credential cannot hold every stream', async () => {
    const streams = [];
    try {
      for (let i = 0; i < 16; i++) streams.push(await watch(srv.http, keys.deployer));
      assert.ok(streams.every((s) => s.status === 200));
      const over = await call(srv.http, 'GET', `${INFERD}/watch`, keys.deployer);
      assert.equal(over.status, 429);
      assert.ok(over.headers.get('retry-after'));
      // Another credential still gets one.
      const other = await watch(srv.http, keys.viewer);
      assert.equal(other.status, 200);
      streams.push(other);
    } finally {
      for (const s of streams) await s.close();
    }
    await poll(async () => ((await call(srv.http, 'GET', `${INFERD}/server`, admin)).json.dashboard.watchers === 0 ? true : undefined), 'watchers to close');
    const again = await watch(srv.http, keys.deployer);
    assert.equal(again.status, 200);
    await again.close();
  });
});
