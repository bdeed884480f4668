import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InferdError } from '../../src/api/errors.js';
import type { InferenceService } from '../../src/api/resources/inference-service.js';
import type { StorageProgress } from '../../src/storage/download.js';
import { StorageFetcher } from '../../src/storage/fetcher.js';
import { digestsOf, integrityOf } from '../../src/storage/integrity.js';
import { readCredentialsFile, s3Settings } from '../../src/storage/s3.js';
import { resolveStorageUri, type StorageConfig } from '../../src/storage/storage-uri.js';
import { ONNX_FIXTURES } from '../helpers/fixtures.js';
import { S3RVER_KEY, startS3, type TestS3 } from './s3-test-server.js';

const MODEL = readFileSync(join(ONNX_FIXTURES, 'mlp/model.onnx'));
const CONFIG_JSON = Buffer.from('{"threshold": 0.5}\n');
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const FAST = { attempts: 4, baseDelayMs: 10, maxDelayMs: 50, openTimeoutMs: 3000, idleTimeoutMs: 1500 };
const creds = { AWS_ACCESS_KEY_ID: S3RVER_KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_KEY.secretAccessKey };

function newFetcher(maxBytes?: number, cacheDir = mkdtempSync(join(tmpdir(), 'inferd-cache-'))) {
  return new StorageFetcher({ cacheDir, maxBytes, retry: FAST });
}

/** The directory digest as documented: sha256sum over the sorted file list, hashed again. */
function shellManifestDigest(dir: string): string {
  return execFileSync('bash', ['-c', "find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum"], { cwd: dir, encoding: 'utf8' }).split(' ')[0]!;
}

function tmpEntries(f: StorageFetcher): string[] {
  return readdirSync(f.cache.tmpRoot);
}

describe('s3:// against a real S3-compatible server (s3rver)', () => {
  let s3: TestS3;
  let config: StorageConfig;
  before(async () => {
    s3 = await startS3(['models']);
    await s3.put('models', 'models/mlp/model.onnx', MODEL);
    await s3.put('models', 'models/mlp/config/settings.json', CONFIG_JSON);
    await s3.put('models', 'models/mlp2/decoy.onnx', 'not part of models/mlp');
    await s3.put('models', 'models/archive/model.tar.gz', 'tarball');
    config = { pvcs: {}, s3: { endpoint: s3.endpoint, forcePathStyle: true } };
  });
  after(() => s3.close());

  it('copies every key under the path (prefix stripped), reports progress, and caches: the second resolve downloads nothing', async () => {
    const fetcher = newFetcher();
    const progress: StorageProgress[] = [];
    const before = s3.requests.length;
    const dir = await resolveStorageUri('s3://models/models/mlp', config, { baseDir: '/', fetcher, env: creds, onProgress: (p) => progress.push(p) });
    assert.deepEqual(readdirSync(dir).sort(), ['config', 'model.onnx']);
    assert.deepEqual(readFileSync(join(dir, 'model.onnx')), MODEL);
    assert.deepEqual(readFileSync(join(dir, 'config/settings.json')), CONFIG_JSON);
    assert.equal(s3.objectGets().length, 2, 'two objects downloaded');
    const last = progress.at(-1)!;
    assert.equal(last.done, true);
    assert.equal(last.bytes, MODEL.length + CONFIG_JSON.length);
    assert.equal(last.total, MODEL.length + CONFIG_JSON.length);
    assert.deepEqual(last.files, { done: 2, total: 2 });
    assert.ok(last.rate > 0 && last.etaSeconds === 0);
    assert.deepEqual(fetcher.stats().misses, 1);
    assert.equal(shellManifestDigest(dir), (await digestsOf(dir)).digest, 'directory digest = documented shell pipeline');

    const gets = s3.objectGets().length;
    const again = await resolveStorageUri('s3://models/models/mlp/', config, { baseDir: '/', fetcher, env: creds });
    assert.equal(again, dir);
    assert.equal(s3.objectGets().length, gets, 'no object fetched on the second deploy (one listing only)');
    assert.equal(fetcher.stats().hits, 1);

    // With a sha256 the cache answers without any request at all.
    const digest = (await digestsOf(dir)).digest;
    const n = s3.requests.length;
    assert.equal(await resolveStorageUri('s3://models/models/mlp', config, { baseDir: '/', fetcher, env: creds, sha256: digest }), dir);
    assert.equal(s3.requests.length, n, 'zero requests');
    assert.ok(s3.requests.length > before);

    // Re-used across restarts: a new fetcher on the same directory.
    const restarted = new StorageFetcher({ cacheDir: fetcher.cache.root, retry: FAST });
    const g2 = s3.objectGets().length;
    assert.equal(await resolveStorageUri('s3://models/models/mlp', config, { baseDir: '/', fetcher: restarted, env: creds }), dir);
    assert.equal(s3.objectGets().length, g2);
    assert.deepEqual([restarted.stats().hits, restarted.stats().misses], [1, 0]);
  });

  it('checks sha256: the single model file or the directory manifest; a wrong one is refused and nothing is cached', async () => {
    const fetcher = newFetcher();
    const wrong = 'ab'.repeat(32);
    await assert.rejects(
      resolveStorageUri('s3://models/models/mlp', config, { baseDir: '/', fetcher, env: creds, sha256: wrong }),
      (err: InferdError) => err.code === 'invalid_input' && err.message.includes(`expected ${wrong}`) && /actual [0-9a-f]{64}/.test(err.message),
    );
    assert.equal(fetcher.stats().entries, 0, 'refused content is not cached');
    assert.deepEqual(tmpEntries(fetcher).filter((n) => n.startsWith('dl-')), [], 'no partial download left');
    assert.equal(fetcher.stats().integrityFailures, 2, 'downloaded once more before refusing');

    const file = await resolveStorageUri('s3://models/models/mlp/model.onnx', config, { baseDir: '/', fetcher, env: creds, sha256: `sha256:${sha(MODEL).toUpperCase()}` });
    assert.equal(basename(file), 'model.onnx', 'a single object resolves to the file');
    assert.deepEqual(readFileSync(file), MODEL);
    // A cached entry is checked too.
    await assert.rejects(resolveStorageUri('s3://models/models/mlp/model.onnx', config, { baseDir: '/', fetcher, env: creds, sha256: wrong }), /sha256 mismatch/);
    await assert.rejects(resolveStorageUri('s3://models/models/mlp/model.onnx', config, { baseDir: '/', fetcher, env: creds, sha256: 'xyz' }), /not a sha256 digest/);
  });

  it('refuses a lone archive, names missing paths, and never shows credentials', async () => {
    const fetcher = newFetcher();
    await assert.rejects(resolveStorageUri('s3://models/models/archive', config, { baseDir: '/', fetcher, env: creds }), /does not unpack archives/);
    await assert.rejects(resolveStorageUri('s3://models/nothing/here', config, { baseDir: '/', fetcher, env: creds }), (e: InferdError) => e.code === 'not_found');
    const secret = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';
    const keyId = 'AKIASECRETKEYID00042';
    // s3rver checks the key id but not SigV4 signatures, so an unknown key id is the refusal to provoke.
    for (const env of [{ AWS_ACCESS_KEY_ID: keyId, AWS_SECRET_ACCESS_KEY: secret }]) {
      const err = await resolveStorageUri('s3://models/models/mlp', config, { baseDir: '/', fetcher, env }).then(
        () => assert.fail('bad credentials accepted'),
        (e: InferdError) => e,
      );
      assert.ok(['unauthenticated', 'forbidden'].includes(err.code), `${err.code}: ${err.message}`);
      const shown = `${err.message} ${err.stack} ${JSON.stringify(err)} ${String(err.cause ?? '')}`;
      assert.ok(!shown.includes(secret) && !shown.includes(keyId), shown);
    }
  });

  it('reads endpoint, region and credentials as KServe names them, and secret files', async () => {
    const s = await s3Settings(undefined, { S3_ENDPOINT: 'minio.local:9000', S3_USE_HTTPS: '0', AWS_DEFAULT_REGION: 'eu-west-1', ...creds, S3_VERIFY_SSL: '0' }, {});
    assert.deepEqual([s.endpoint, s.region, s.forcePathStyle, s.verifySsl, s.credentials?.accessKeyId], ['http://minio.local:9000', 'eu-west-1', true, false, 'S3RVER']);
    const t = await s3Settings({ endpoint: 'https://config.example', region: 'r1' }, {}, { AWS_ENDPOINT_URL: 'http://env.example', AWS_REGION: 'ignored' });
    assert.deepEqual([t.endpoint, t.region, t.credentials], ['https://config.example', 'r1', undefined]);
    const u = await s3Settings(undefined, {}, { S3_ENDPOINT: 'store:443' });
    assert.equal(u.endpoint, 'https://store:443');

    const dir = mkdtempSync(join(tmpdir(), 'inferd-secret-'));
    const secretYaml = join(dir, 'secret.yaml');
    writeFileSync(secretYaml, [
      'apiVersion: v1', 'kind: Secret', 'metadata:', '  name: s3creds', '  annotations:',
      `    serving.kserve.io/s3-endpoint: ${s3.endpoint.slice('http://'.length)}`, '    serving.kserve.io/s3-usehttps: "0"',
      'type: Opaque', 'data:', `  awsAccessKeyID: ${Buffer.from('S3RVER').toString('base64')}`, `  awsSecretAccessKey: ${Buffer.from('S3RVER').toString('base64')}`, '',
    ].join('\n'));
    const fromSecret = await s3Settings({ credentialsFile: secretYaml }, {}, {});
    assert.deepEqual([fromSecret.endpoint, fromSecret.credentials?.secretAccessKey], [s3.endpoint, 'S3RVER']);
    const ini = join(dir, 'credentials');
    writeFileSync(ini, '[other]\naws_access_key_id = X\naws_secret_access_key = Y\n[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n');
    assert.deepEqual(await readCredentialsFile(ini), { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
    // A deploy with only the secret file: endpoint and keys from it.
    const fetcher = newFetcher();
    const path = await resolveStorageUri('s3://models/models/mlp/model.onnx', { pvcs: {}, s3: { credentialsFile: secretYaml } }, { baseDir: '/', fetcher });
    assert.deepEqual(readFileSync(path), MODEL);
  });
});

/** A tiny HTTP file server with ETag and Range support, and hooks to misbehave. */
function fileServer(files: Record<string, Buffer>, misbehave: (req: IncomingMessage, res: ServerResponse, body: Buffer, n: number) => boolean = () => false) {
  const log: Array<{ url: string; method: string; range?: string }> = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    log.push({ url: req.url!, method: req.method!, ...(req.headers.range ? { range: req.headers.range } : {}) });
    const body = files[req.url!.split('?')[0]!];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    const headers = { etag: `"${sha(body).slice(0, 16)}"`, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    if (misbehave(req, res, body, n++)) return;
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'content-length': body.length }).end();
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && (!req.headers['if-range'] || req.headers['if-range'] === headers.etag)) {
      const start = Number(m[1]);
      res.writeHead(206, { ...headers, 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': body.length }).end(body);
  });
  return {
    log,
    gets: () => log.filter((l) => l.method === 'GET'),
    async start() {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('http(s):// downloads', () => {
  const big = Buffer.alloc(512 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;

  it('resumes with a Range request after the connection drops mid-body', async () => {
    const srv = fileServer({ '/models/big.bin': big }, (req, res, body, n) => {
      if (n !== 1 || req.method !== 'GET') return false;
      res.writeHead(200, { 'content-length': body.length, etag: `"${sha(body).slice(0, 16)}"`, 'accept-ranges': 'bytes' });
      res.write(body.subarray(0, 200 * 1024), () => setTimeout(() => res.socket?.destroy(), 50));
      return true;
    });
    const base = await srv.start();
    try {
      const fetcher = newFetcher();
      const retries: unknown[] = [];
      fetcher.on('retry', (r) => retries.push(r));
      const path = await resolveStorageUri(`${base}/models/big.bin`, { pvcs: {} }, { baseDir: '/', fetcher, sha256: sha(big) });
      assert.equal(basename(path), 'big.bin');
      assert.deepEqual(readFileSync(path), big);
      const gets = srv.gets();
      assert.equal(gets.length, 2, JSON.stringify(gets));
      const resumedAt = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? '')?.[1]);
      assert.ok(resumedAt > 0 && resumedAt <= 200 * 1024, `second request resumes (${gets[1]!.range})`);
      assert.equal(retries.length, 1);
      assert.ok(fetcher.stats().bytesDownloaded < big.length + 200 * 1024, 'did not download everything twice');
      // Second deploy: served from the cache (a HEAD to check the validators, no GET).
      assert.equal(await resolveStorageUri(`${base}/models/big.bin`, { pvcs: {} }, { baseDir: '/', fetcher }), path);
      assert.equal(srv.gets().length, 2);
    } finally {
      await srv.close();
    }
  });

  it('refuses a corrupt (truncated) file: retried, never cached; a good copy on retry is accepted', async () => {
    let corruptFor = 99;
    // Serves a truncated copy (HEAD agrees with it) until `corruptFor` GETs have been answered.
    let gets = 0;
    const srv = fileServer({ '/m/model.onnx': MODEL }, (req, res, body) => {
      if (gets >= corruptFor) return false;
      const short = body.subarray(0, body.length - 100);
      res.writeHead(200, { 'content-length': short.length, etag: '"short"' }).end(req.method === 'HEAD' ? undefined : short);
      if (req.method === 'GET') gets++;
      return true;
    });
    const base = await srv.start();
    try {
      const fetcher = newFetcher();
      const uri = `${base}/m/model.onnx`;
      await assert.rejects(resolveStorageUri(uri, { pvcs: {} }, { baseDir: '/', fetcher, sha256: sha(MODEL) }), (e: InferdError) => e.code === 'invalid_input' && e.message.includes(`expected ${sha(MODEL)}`) && e.message.includes(`actual ${sha(MODEL.subarray(0, MODEL.length - 100))}`));
      assert.equal(fetcher.stats().entries, 0, 'never cached');
      assert.deepEqual(tmpEntries(fetcher).filter((n) => n.startsWith('dl-')), []);
      assert.equal(srv.gets().length, 2, 'downloaded twice before refusing');
      // The server recovers: the next download (second GET of this resolve) is good.
      corruptFor = gets + 1;
      const path = await resolveStorageUri(uri, { pvcs: {} }, { baseDir: '/', fetcher, sha256: sha(MODEL) });
      assert.deepEqual(readFileSync(path), MODEL);
      assert.equal(fetcher.stats().entries, 1);
    } finally {
      await srv.close();
    }
  });

  it('never reports a short body complete: partial downloads fail after retries and leave nothing', async () => {
    const srv = fileServer({ '/m/model.onnx': MODEL }, (req, res, body) => {
      if (req.method !== 'GET') return false;
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, 100), () => res.socket?.destroy());
      return true;
    });
    const base = await srv.start();
    try {
      const fetcher = newFetcher();
      await assert.rejects(resolveStorageUri(`${base}/m/model.onnx`, { pvcs: {} }, { baseDir: '/', fetcher }), (e: InferdError) => e.code === 'not_ready' && /download failed/.test(e.message));
      assert.equal(fetcher.stats().entries, 0);
      assert.equal(srv.gets().length, FAST.attempts);
      assert.deepEqual(tmpEntries(fetcher).filter((n) => n.startsWith('dl-')), []);
      await assert.rejects(resolveStorageUri(`${base}/m/missing.onnx`, { pvcs: {} }, { baseDir: '/', fetcher }), (e: InferdError) => e.code === 'not_found');
      const err = await resolveStorageUri(`http://user:hunter2secret@127.0.0.1:1/m/model.onnx?token=abcdefgh12345`, { pvcs: {} }, { baseDir: '/', fetcher }).catch((e: Error) => e);
      assert.ok(err instanceof Error && !err.message.includes('hunter2secret') && !err.message.includes('abcdefgh12345'), String(err));
    } finally {
      await srv.close();
    }
  });

  it('keeps the cache under its bound, evicting least recently used entries but never one in use', async () => {
    const files: Record<string, Buffer> = {};
    for (const name of ['a', 'b', 'c', 'd']) files[`/${name}.bin`] = Buffer.alloc(1000, name);
    const srv = fileServer(files);
    const base = await srv.start();
    try {
      const fetcher = newFetcher(2500);
      const get = (name: string) => fetcher.fetch(`${base}/${name}.bin`, {});
      const a = await get('a');
      const b = await get('b');
      a.release();
      b.release();
      await get('a').then((r) => r.release()); // a is now more recent than b
      const c = await get('c'); // 3000 > 2500: b (LRU) goes
      c.release();
      assert.equal(fetcher.stats().sizeBytes, 2000);
      assert.deepEqual(fetcher.stats().evictions, 1);
      const before = srv.gets().length;
      await get('a').then((r) => r.release());
      assert.equal(srv.gets().length, before, 'a stayed cached');
      await get('b').then((r) => r.release());
      assert.equal(srv.gets().length, before + 1, 'b was evicted and downloaded again');
      assert.ok(fetcher.stats().sizeBytes <= 2500);

      // Entries in use are kept even over the bound.
      const tiny = newFetcher(1500);
      const pinned = [await tiny.fetch(`${base}/a.bin`, {}), await tiny.fetch(`${base}/b.bin`, {})];
      assert.equal(tiny.stats().sizeBytes, 2000);
      assert.ok(pinned.every((p) => readFileSync(p.path).length === 1000));
      pinned[0]!.release();
      await tiny.cache.evict();
      assert.equal(tiny.stats().sizeBytes, 1000);
      assert.deepEqual(readFileSync(pinned[1]!.path), files['/b.bin']);

      // The releaseSignal of resolveStorageUri unpins.
      const ac = new AbortController();
      const p = await resolveStorageUri(`${base}/c.bin`, { pvcs: {} }, { baseDir: '/', fetcher: tiny, releaseSignal: ac.signal });
      assert.ok(tiny.cache.pinned(basename(join(p, '../..'))));
      ac.abort();
      assert.ok(!tiny.cache.pinned(basename(join(p, '../..'))));
    } finally {
      await srv.close();
    }
  });

  it('uses the shared cache under <dataDir>/storage-cache when no fetcher is given', async () => {
    const srv = fileServer({ '/x/model.onnx': MODEL });
    const base = await srv.start();
    try {
      const dataDir = mkdtempSync(join(tmpdir(), 'inferd-data-'));
      const path = await resolveStorageUri(`${base}/x/model.onnx`, { pvcs: {} }, { baseDir: '/', dataDir });
      assert.ok(path.startsWith(join(dataDir, 'storage-cache', 'entries')), path);
      await assert.rejects(resolveStorageUri(`${base}/x/model.onnx`, { pvcs: {} }, { baseDir: '/' }), /no download cache/);
    } finally {
      await srv.close();
    }
  });
});

describe('integrity of local models and integrityOf()', () => {
  it('checks file:// and pvc:// paths against a sha256', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferd-local-'));
    mkdirSync(join(dir, 'm'));
    writeFileSync(join(dir, 'm/model.onnx'), MODEL);
    const cfg = { pvcs: { claim: dir }, fileRoots: [dir] };
    assert.equal(await resolveStorageUri('pvc://claim/m', cfg, { baseDir: '/', sha256: sha(MODEL) }), join(dir, 'm'));
    assert.equal(await resolveStorageUri(`file://${dir}/m/model.onnx`, cfg, { baseDir: '/', sha256: sha(MODEL) }), join(dir, 'm/model.onnx'));
    await assert.rejects(resolveStorageUri('pvc://claim/m', cfg, { baseDir: '/', sha256: '0'.repeat(64) }), /sha256 mismatch: expected 0{64}/);
  });

  it('reads the storage parameter, else the annotation for the predictor it names', () => {
    const isvc = (annotations: Record<string, string> | undefined, parameters?: Record<string, string>): InferenceService =>
      ({
        apiVersion: 'serving.kserve.io/v1beta1',
        kind: 'InferenceService',
        metadata: { name: 'm', ...(annotations ? { annotations } : {}) },
        spec: { predictor: { model: { modelFormat: { name: 'onnx' }, storageUri: 's3://b/m', ...(parameters ? { storage: { parameters } } : {}) } } },
      }) as unknown as InferenceService;
    const a = 'a'.repeat(64);
    const b = 'B'.repeat(64);
    assert.deepEqual(integrityOf(isvc(undefined)), {});
    assert.deepEqual(integrityOf(isvc({ 'inferd.dev/sha256': `sha256:${a}` })), { sha256: a });
    assert.deepEqual(integrityOf(isvc({ 'inferd.dev/sha256': a }, { sha256: b })), { sha256: b.toLowerCase() });
    const withAnn = isvc({ 'inferd.dev/sha256': a });
    const other = { model: { modelFormat: { name: 'onnx' }, storageUri: 's3://b/other' } } as InferenceService['spec']['predictor'];
    assert.deepEqual(integrityOf(withAnn, other), {}, 'the annotation does not apply to another model');
    assert.throws(() => integrityOf(isvc({ 'inferd.dev/sha256': 'nope' })), /inferd.dev\/sha256.*not a sha256 digest/);
  });
});
