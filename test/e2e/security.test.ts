import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createServer as createHttpServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, readFileSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import Database from 'better-sqlite3';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { CLI, REPO_ROOT, startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';
import { SLOW_JS_RUNTIME } from '../helpers/fixtures.js';
import { hasRedis, startRedis, type RedisProcess } from '../security/redis-server.js';
import { adminKeyOf, createKey } from '../helpers/keys.js';

const run = promisify(execFile);
type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
const PROTO = join(REPO_ROOT, 'proto/grpc_predict_v2.proto');
const { inference } = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true })) as any;
const BODY = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] });

/** Two namespaces with a model called `echo` in each, plus `hidden` in team-b only. */
function manifests(extraAnnotations = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'inferd-sec-'));
  const file = join(dir, 'models.yaml');
  const isvc = (ns: string, name: string, ann = '') => `---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: ${name}, namespace: ${ns}${ann ? `, annotations: {${ann}}` : ''}}
spec: {predictor: {model: {modelFormat: {name: slow}}}}
`;
  writeFileSync(file, `${SLOW_JS_RUNTIME}${isvc('team-a', 'echo')}${isvc('team-b', 'echo')}${isvc('team-b', 'hidden')}${isvc('team-a', 'limited', extraAnnotations)}`);
  return file;
}

async function req(base: string, method: string, path: string, token?: string, body?: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, { method, ...(body !== undefined ? { body } : {}), headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers } });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers };
}

function grpcCall<T>(client: any, method: string, request: unknown, token?: string, extra: Record<string, string> = {}): Promise<T> {
  const md = new grpc.Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  for (const [k, v] of Object.entries(extra)) md.set(k, v);
  return new Promise((resolve, reject) => client[method](request, md, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res))));
}

const grpcInfer = { model_name: 'echo', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [1] } }] };

async function waitModels(base: string, token: string, names: Array<[string, string]>): Promise<void> {
  for (const [ns, name] of names) {
    for (let i = 0; i < 200; i++) {
      const r = await req(base, 'GET', `/v2/models/${name}/ready`, token, undefined, { 'inferd-namespace': ns });
      if (r.status === 200) break;
      await new Promise((res) => setTimeout(res, 50));
    }
  }
}

describe('API keys, roles and namespaces (REST, gRPC, CLI)', () => {
  let srv: InferdProcess;
  let dataDir: string;
  let admin: string;
  const k: Record<string, string> = {};
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'inferd-sec-data-'));
    srv = await startInferd(['-f', manifests(), '--auth', 'keys'], { dataDir });
    admin = adminKeyOf(dataDir);
    await waitModels(srv.http, admin, [['team-a', 'echo'], ['team-b', 'echo'], ['team-b', 'hidden'], ['team-a', 'limited']]);
    for (const role of ['viewer', 'predictor', 'deployer']) k[role] = await createKey(srv.http, admin, role, ['team-a']);
  });
  after(async () => srv?.stop());

  it('bootstraps an admin key into <data-dir>/admin.key (0600), stores only its hash, and says where it is', async () => {
    assert.equal(statSync(join(dataDir, 'admin.key')).mode & 0o777, 0o600);
    assert.ok(srv.logs.some((l) => typeof l.adminKeyFile === 'string' && String(l.msg).includes('admin.key')));
    const db = new Database(join(dataDir, 'inferd.db'), { readonly: true });
    const rows = JSON.stringify(db.prepare('SELECT * FROM api_keys').all());
    db.close();
    for (const key of [admin, ...Object.values(k)]) assert.ok(!rows.includes(key.slice(16)), 'no secret in the database');
    assert.ok(!srv.logs.some((l) => JSON.stringify(l).includes(admin.slice(16))), 'the key is never logged');
  });

  it('every role × route class: allowed, 401 without credentials, 403 wrong role, 404 other namespace', async () => {
    const promoteA = '/apis/inferd.dev/v1/namespaces/team-a/inferenceservices/echo/rollout/promote';
    const promoteB = '/apis/inferd.dev/v1/namespaces/team-b/inferenceservices/hidden/rollout/promote';
    const classes = {
      read: { own: ['GET', '/v2/models/echo'], other: ['GET', '/v2/models/hidden'], min: 1 },
      infer: { own: ['POST', '/v2/models/echo/infer', BODY], other: ['POST', '/v2/models/hidden/infer', BODY], min: 2 },
      deploy: { own: ['POST', promoteA], other: ['POST', promoteB], min: 3 },
      admin: { own: ['GET', '/apis/inferd.dev/v1/keys'], other: undefined, min: 4 },
    } as const;
    const rank: Record<string, number> = { viewer: 1, predictor: 2, deployer: 3, admin: 4 };
    const seen: string[] = [];
    for (const [cls, c] of Object.entries(classes)) {
      const [m, p, b] = c.own as readonly [string, string, string?];
      assert.equal((await req(srv.http, m, p, undefined, b)).status, 401, `${cls} without credentials`);
      assert.equal((await req(srv.http, m, p, 'ik_000000000000_' + 'x'.repeat(43), b)).status, 401, `${cls} with an unknown key`);
      for (const role of ['viewer', 'predictor', 'deployer', 'admin']) {
        const token = role === 'admin' ? admin : k[role]!;
        const own = await req(srv.http, m, p, token, b, { 'inferd-namespace': 'team-a' });
        const want = rank[role]! >= c.min ? 200 : 403;
        assert.equal(own.status, want, `${role} on ${cls} (own namespace): ${own.text}`);
        seen.push(`${role}/${cls}/${own.status}`);
        if (c.other && role !== 'admin' && want === 200) {
          const [om, op, ob] = c.other as readonly [string, string, string?];
          const other = await req(srv.http, om, op, token, ob);
          assert.equal(other.status, 404, `${role} on ${cls} in another namespace: ${other.text}`);
          // Naming the namespace does not help either.
          const named = await req(srv.http, om, op.replace('/hidden', '/echo'), token, ob, { 'inferd-namespace': 'team-b' });
          if (!op.startsWith('/apis')) assert.equal(named.status, 404, `${role} on ${cls} naming team-b`);
        }
      }
    }
    assert.equal(seen.length, 16);
    // A model that does not exist and one in a hidden namespace answer the same.
    const ghost = await req(srv.http, 'GET', '/v2/models/ghost', k.predictor);
    const hidden = await req(srv.http, 'GET', '/v2/models/hidden', k.predictor);
    assert.equal(ghost.text.replace('ghost', 'X'), hidden.text.replace('hidden', 'X'));
    // Lists are filtered: team-a's key sees team-a only.
    const list = JSON.parse((await req(srv.http, 'GET', '/apis/serving.kserve.io/v1beta1/inferenceservices', k.viewer)).text) as { items: Array<{ metadata: { namespace: string } }> };
    assert.ok(list.items.length >= 2 && list.items.every((i) => i.metadata.namespace === 'team-a'));
    // Apply into another namespace is refused; cluster-scoped kinds need admin.
    const apply = (ns: string) => `apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: new-one, namespace: ${ns}}\nspec: {predictor: {model: {modelFormat: {name: slow}}}}\n`;
    assert.equal((await req(srv.http, 'POST', '/apis/inferd.dev/v1/apply', k.deployer, apply('team-b'))).status, 403);
    assert.equal((await req(srv.http, 'POST', '/apis/inferd.dev/v1/apply', k.deployer, apply('team-a'))).status, 200);
    assert.equal((await req(srv.http, 'DELETE', '/apis/serving.kserve.io/v1beta1/namespaces/team-a/inferenceservices/new-one', k.deployer)).status, 200);
    // Health probes stay open.
    assert.equal((await req(srv.http, 'GET', '/v2/health/live')).status, 200);
    // Unauthenticated answers say what to send and never echo it.
    const bad = await req(srv.http, 'GET', '/v2/models/echo', 'ik_000000000000_SECRETSECRETSECRETSECRETSECRETSECRETSECRET1');
    assert.equal(bad.headers.get('www-authenticate'), 'Bearer realm="inferd"');
    assert.ok(!bad.text.includes('SECRET'));
    // X-API-Key works for clients that cannot set Authorization.
    assert.equal((await req(srv.http, 'GET', '/v2/models/echo', undefined, undefined, { 'x-api-key': k.viewer! })).status, 200);
  });

  it('gRPC takes the key from metadata, with the same roles and namespaces', async () => {
    const client = new inference.GRPCInferenceService(srv.grpc, grpc.credentials.createInsecure());
    try {
      await grpcCall(client, 'ServerLive', {});
      await assert.rejects(grpcCall(client, 'ModelInfer', grpcInfer), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED);
      await assert.rejects(grpcCall(client, 'ModelInfer', grpcInfer, k.viewer), (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED);
      const res = await grpcCall<{ outputs: unknown[] }>(client, 'ModelInfer', grpcInfer, k.predictor);
      assert.equal(res.outputs.length, 1);
      await assert.rejects(grpcCall(client, 'ModelInfer', { ...grpcInfer, model_name: 'hidden' }, k.predictor), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
      await assert.rejects(grpcCall(client, 'ModelMetadata', { name: 'echo', version: '' }, k.predictor, { 'inferd-namespace': 'team-b' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
      await grpcCall(client, 'ModelInfer', { ...grpcInfer, model_name: 'hidden' }, admin, { 'inferd-namespace': 'team-b' });
    } finally {
      client.close();
    }
  });

  it('revocation and expiry take effect at once', async () => {
    const key = await createKey(srv.http, admin, 'predictor', ['team-a']);
    assert.equal((await req(srv.http, 'POST', '/v2/models/echo/infer', key, BODY)).status, 200);
    const prefix = key.slice(0, 15);
    assert.equal((await req(srv.http, 'DELETE', `/apis/inferd.dev/v1/keys/${prefix}`, admin)).status, 200);
    assert.equal((await req(srv.http, 'POST', '/v2/models/echo/infer', key, BODY)).status, 401);
    const short = await createKey(srv.http, admin, 'predictor', ['team-a'], '2s');
    assert.equal((await req(srv.http, 'POST', '/v2/models/echo/infer', short, BODY)).status, 200);
    await new Promise((r) => setTimeout(r, 2100));
    assert.equal((await req(srv.http, 'POST', '/v2/models/echo/infer', short, BODY)).status, 401);
  });

  it('inferd keys create|list|revoke reads admin.key from --data-dir; audit verify passes on the server log', async () => {
    const cli = async (...args: string[]) => (await run(process.execPath, [CLI, ...args, '--server', srv.http], { env: { ...process.env, INFERD_TOKEN: '' } })).stdout;
    const key = (await cli('keys', 'create', '--role', 'viewer', '-n', 'team-a', '--expires', '30d', '--data-dir', dataDir)).trim();
    assert.match(key, /^ik_/);
    const list = await cli('keys', 'list', '--data-dir', dataDir);
    assert.ok(list.includes(key.slice(0, 15)) && !list.includes(key.slice(16)), 'listed by prefix only');
    assert.match(await cli('keys', 'revoke', key.slice(0, 15), '--data-dir', dataDir), /revoked/);
    assert.equal((await req(srv.http, 'GET', '/v2/models/echo', key)).status, 401);
    // Without credentials the CLI is refused, with a hint.
    const err = await run(process.execPath, [CLI, 'get', 'isvc', '--server', srv.http, '--data-dir', '/nonexistent']).catch((e: { stderr: string }) => e);
    assert.match((err as { stderr: string }).stderr, /401.*--token/);
    assert.match(await cli('get', 'isvc', '-n', 'team-a', '--token', k.viewer!), /echo/);

    const audit = readFileSync(join(dataDir, 'audit.log'), 'utf8');
    for (const action of ['keys.bootstrap', 'keys.create', 'keys.revoke', 'auth.failed', 'auth.forbidden', 'auth.namespace', 'apply', 'inferenceservices.delete', 'inferenceservices.promote']) {
      assert.ok(audit.includes(`"action":"${action}"`), `audit has ${action}`);
    }
    assert.ok(!audit.includes(admin.slice(16)), 'no secret in the audit log');
    const verify = await run(process.execPath, [CLI, 'audit', 'verify', '--data-dir', dataDir]);
    assert.match(verify.stdout, /OK, \d+ entries/);
  });
});

describe('OIDC bearer tokens (jose, JWKS served by the test)', () => {
  let srv: InferdProcess;
  let oidcData: string;
  let jwksServer: Server;
  let jwksFetches = 0;
  let jwks: { keys: JWK[] } = { keys: [] };
  let issuer: string;
  let k1: KeyPair;
  let k2: KeyPair;
  const AUD = 'inferd-api';

  before(async () => {
    k1 = await generateKeyPair('RS256', { extractable: true });
    k2 = await generateKeyPair('ES256', { extractable: true });
    jwks = { keys: [{ ...(await exportJWK(k1.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
    jwksServer = createHttpServer((rq, rs) => {
      if (rq.url === '/jwks.json') jwksFetches++;
      rs.writeHead(rq.url === '/jwks.json' ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', () => r()));
    issuer = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}`;
    const dir = mkdtempSync(join(tmpdir(), 'inferd-oidc-'));
    writeFileSync(join(dir, 'config.yaml'), `security:\n  oidc:\n    issuer: ${issuer}\n    audience: ${AUD}\n    jwksUri: ${issuer}/jwks.json\n    jwksCooldownSeconds: 0\n    clockSkewSeconds: 5\n    roleMap: {ml-engineers: predictor}\n`);
    oidcData = join(dir, 'data');
    srv = await startInferd(['-f', manifests(), '--config', join(dir, 'config.yaml'), '--auth', 'keys+oidc'], { dataDir: oidcData });
    await waitReady(srv.http);
  });
  after(async () => {
    await srv?.stop();
    jwksServer?.close();
  });

  const token = (opts: { key?: KeyPair['privateKey']; kid?: string; alg?: string; iss?: string; aud?: string; exp?: number | string; claims?: Record<string, unknown> } = {}) =>
    new SignJWT({ roles: ['predictor'], namespaces: ['team-a'], ...opts.claims })
      .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: opts.kid ?? 'k1' })
      .setSubject('alice')
      .setIssuer(opts.iss ?? issuer)
      .setAudience(opts.aud ?? AUD)
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? '5m')
      .sign(opts.key ?? k1.privateKey);

  const infer = async (t: string | undefined, model = 'echo') => (await req(srv.http, 'POST', `/v2/models/${model}/infer`, t, BODY)).status;

  it('accepts a valid token and maps roles and namespaces from its claims', async () => {
    assert.equal(await infer(await token()), 200);
    assert.equal(await infer(await token(), 'hidden'), 404, 'namespaces claim limits what it sees');
    assert.equal(await infer(await token({ claims: { roles: ['viewer'] } })), 403);
    assert.equal(await infer(await token({ claims: { roles: ['ml-engineers'] } })), 200, 'roleMap');
    assert.equal((await req(srv.http, 'GET', '/apis/inferd.dev/v1/whoami', await token())).text.includes('oidc:alice'), true);
  });

  it('refuses expired, wrong audience, wrong issuer, bad signature and alg none', async () => {
    assert.equal(await infer(await token({ exp: Math.floor(Date.now() / 1000) - 60 })), 401, 'expired beyond the skew');
    assert.equal(await infer(await token({ exp: Math.floor(Date.now() / 1000) - 2 })), 200, 'expired within the 5 s skew');
    assert.equal(await infer(await token({ aud: 'someone-else' })), 401, 'audience');
    assert.equal(await infer(await token({ iss: 'https://evil.example' })), 401, 'issuer');
    const other = await generateKeyPair('RS256');
    assert.equal(await infer(await token({ key: other.privateKey })), 401, 'signed by another key under kid k1');
    const good = await token();
    const [h, p] = good.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), roles: ['admin'], namespaces: '*' })).toString('base64url')}.${good.split('.')[2]}`;
    assert.equal(await infer(tampered), 401, 'payload edited');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'k1' })).toString('base64url')}.${p}.`;
    assert.equal(await infer(none), 401, 'alg none');
    assert.equal(await infer('not.a.jwt'), 401);
    const audit = readFileSync(join(oidcData, 'audit.log'), 'utf8');
    assert.match(audit, /ERR_JWT_EXPIRED|"exp" claim/);
  });

  it('an unknown kid triggers a JWKS refresh (key rotation)', async () => {
    const before = jwksFetches;
    jwks = { keys: [...jwks.keys, { ...(await exportJWK(k2.publicKey)), kid: 'k2', alg: 'ES256', use: 'sig' }] };
    assert.equal(await infer(await token({ key: k2.privateKey, kid: 'k2', alg: 'ES256' })), 200);
    assert.ok(jwksFetches > before, 'JWKS refetched');
    const after = jwksFetches;
    assert.equal(await infer(await token()), 200);
    assert.equal(jwksFetches, after, 'known kids come from the cache');
    assert.equal(await infer(await token({ key: k2.privateKey, kid: 'k9', alg: 'ES256' })), 401, 'a kid the issuer does not publish');
  });

  it('OIDC works on gRPC metadata and on the OpenAI API', async () => {
    const client = new inference.GRPCInferenceService(srv.grpc, grpc.credentials.createInsecure());
    try {
      const res = await grpcCall<{ outputs: unknown[] }>(client, 'ModelInfer', grpcInfer, await token());
      assert.equal(res.outputs.length, 1);
      await assert.rejects(grpcCall(client, 'ModelInfer', grpcInfer, await token({ aud: 'x' })), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED);
    } finally {
      client.close();
    }
    assert.equal((await req(srv.http, 'GET', '/v1/models')).status, 401);
    assert.equal((await req(srv.http, 'GET', '/v1/models', await token())).status, 200);
  });
});

describe('rate limits', () => {
  let srv: InferdProcess;
  let admin: string;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-rl-'));
    const dataDir = join(dir, 'data');
    writeFileSync(join(dir, 'config.yaml'), 'security:\n  rateLimits:\n    perKey: {rps: 0.2, burst: 4}\n');
    srv = await startInferd(['-f', manifests('inferd.dev/rate-limit-rps: "0.2", inferd.dev/rate-limit-burst: "2"'), '--config', join(dir, 'config.yaml'), '--auth', 'keys'], { dataDir });
    admin = adminKeyOf(dataDir);
    await waitReady(srv.http);
  });
  after(async () => srv?.stop());

  it('a burst beyond the key bucket gets 429 with Retry-After and RateLimit headers; another key is unaffected', async () => {
    const a = await createKey(srv.http, admin, 'predictor', ['team-a']);
    const b = await createKey(srv.http, admin, 'predictor', ['team-a']);
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof req>> | undefined;
    for (let i = 0; i < 6; i++) {
      last = await req(srv.http, 'POST', '/v2/models/echo/infer', a, BODY);
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
    assert.ok(Number(last!.headers.get('retry-after')) >= 1);
    assert.equal(last!.headers.get('ratelimit-limit'), '4');
    assert.equal(last!.headers.get('ratelimit-remaining'), '0');
    assert.ok(Number(last!.headers.get('ratelimit-reset')) > 0);
    assert.equal((await req(srv.http, 'POST', '/v2/models/echo/infer', b, BODY)).status, 200);
  });

  it('per-InferenceService limits from annotations apply across keys', async () => {
    const a = await createKey(srv.http, admin, 'predictor', ['team-a']);
    const b = await createKey(srv.http, admin, 'predictor', ['team-a']);
    const s = [a, b, a].map((t) => req(srv.http, 'POST', '/v2/models/limited/infer', t, BODY));
    const res = await Promise.all(s);
    assert.deepEqual(res.map((r) => r.status).sort(), [200, 200, 429]);
    assert.match(res.find((r) => r.status === 429)!.text, /model limited/);
  });
});

describe('rate limits shared through Redis', { skip: !hasRedis() && 'redis-server not installed (apt-get install -y redis-server)' }, () => {
  let redis: RedisProcess;
  const servers: InferdProcess[] = [];
  before(async () => {
    redis = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), 'inferd-redis-'));
    writeFileSync(join(dir, 'config.yaml'), `security:\n  rateLimits:\n    perModel: {rps: 0.05, burst: 6}\n    redisUrl: ${redis.url}\n`);
    const file = manifests();
    for (let i = 0; i < 2; i++) servers.push(await startInferd(['-f', file, '--config', join(dir, 'config.yaml')]));
    for (const s of servers) await waitReady(s.http);
  });
  after(async () => {
    for (const s of servers) await s.stop();
    await redis?.stop();
  });

  it('two inferd processes enforce one shared limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await req(servers[i % 2]!.http, 'POST', '/v2/models/echo/infer', undefined, BODY, { 'inferd-namespace': 'team-a' })).status);
    assert.equal(statuses.filter((s) => s === 200).length, 6, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 6);
    assert.ok(statuses.slice(6).every((s) => s === 429), 'both processes refuse once the shared bucket is empty');
  });
});

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

function makeCerts(dir: string): void {
  openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=inferd test CA');
  issue(dir, 'server', '/CN=server-1', 'subjectAltName=IP:127.0.0.1,DNS:localhost');
  issue(dir, 'client', '/CN=client', 'extendedKeyUsage=clientAuth');
}

function issue(dir: string, name: string, subj: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
  openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key.new`, '-out', `${name}.csr`, '-subj', subj);
  openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt.new`, '-days', '2', '-extfile', `${name}.ext`);
}

function install(dir: string, name: string): void {
  renameSync(join(dir, `${name}.key.new`), join(dir, `${name}.key`));
  renameSync(join(dir, `${name}.crt.new`), join(dir, `${name}.crt`));
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('TLS and mTLS (certificates generated by the test)', () => {
  let srv: InferdProcess;
  let dir: string;
  let base: string;
  let redirectPort: number;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'inferd-tls-'));
    makeCerts(dir);
    install(dir, 'server');
    install(dir, 'client');
    redirectPort = await freePort();
    writeFileSync(join(dir, 'config.yaml'), `security:\n  tls:\n    cert: server.crt\n    key: server.key\n    ca: ca.crt\n    clientAuth: require\n    reloadIntervalMs: 100\n    redirectHttpPort: ${redirectPort}\n`);
    srv = await startInferd(['-f', manifests(), '--config', join(dir, 'config.yaml')]);
    base = srv.http.replace('http://', 'https://');
  });
  after(async () => srv?.stop());

  const get = (path: string, withClientCert: boolean) =>
    new Promise<{ status: number; cn: string }>((resolve, reject) => {
      const r = httpsRequest(`${base}${path}`, { ca: readFileSync(join(dir, 'ca.crt')), ...(withClientCert ? { cert: readFileSync(join(dir, 'client.crt')), key: readFileSync(join(dir, 'client.key')) } : {}), agent: false }, (res) => {
        const cn = String((res.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN ?? '');
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, cn }));
      });
      r.on('error', reject);
      r.end();
    });

  it('serves HTTPS to a client with a certificate and refuses one without (mTLS)', async () => {
    assert.equal((await get('/v2/health/live', true)).status, 200);
    await assert.rejects(get('/v2/health/live', false));
    await assert.rejects(fetch(`${srv.http}/v2/health/live`), 'plain HTTP on the TLS port fails');
  });

  it('serves gRPC over TLS and refuses a client without a certificate', async () => {
    const ca = readFileSync(join(dir, 'ca.crt'));
    const ok = new inference.GRPCInferenceService(srv.grpc, grpc.credentials.createSsl(ca, readFileSync(join(dir, 'client.key')), readFileSync(join(dir, 'client.crt'))));
    const bare = new inference.GRPCInferenceService(srv.grpc, grpc.credentials.createSsl(ca));
    const insecure = new inference.GRPCInferenceService(srv.grpc, grpc.credentials.createInsecure());
    try {
      assert.deepEqual(await grpcCall(ok, 'ServerLive', {}), { live: true });
      await assert.rejects(grpcCall(bare, 'ServerLive', {}), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
      await assert.rejects(grpcCall(insecure, 'ServerLive', {}), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
    } finally {
      ok.close();
      bare.close();
      insecure.close();
    }
  });

  it('reloads the certificate when the files change, without a restart', async () => {
    assert.equal((await get('/v2/health/live', true)).cn, 'server-1');
    issue(dir, 'server', '/CN=server-2', 'subjectAltName=IP:127.0.0.1,DNS:localhost');
    install(dir, 'server');
    let cn = '';
    for (let i = 0; i < 50 && cn !== 'server-2'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      cn = (await get('/v2/health/live', true)).cn;
    }
    assert.equal(cn, 'server-2');
    await srv.waitForLog((l) => l.msg === 'TLS certificate reloaded');
  });

  it('redirects plain HTTP to HTTPS when asked to', async () => {
    const res = await fetch(`http://127.0.0.1:${redirectPort}/v2/models/echo?x=1`, { redirect: 'manual' });
    assert.equal(res.status, 308);
    assert.equal(res.headers.get('location'), `${base}/v2/models/echo?x=1`);
  });
});

describe('auth none', () => {
  it('warns at start', async () => {
    const srv = await startInferd([]);
    try {
      await srv.waitForLog((l) => String(l.msg).includes('security.auth is none'));
    } finally {
      await srv.stop();
    }
  });
});
