import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CLI, startInferd, type InferdProcess } from '../helpers/inferd-process.js';
import { SLOW_JS_RUNTIME } from '../helpers/fixtures.js';
import { adminKeyOf, createKey } from '../helpers/keys.js';

const run = promisify(execFile);
const BODY = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] });

/** `echo` in team-a and in team-b (each counts its own calls), `hidden` in team-b only. */
function manifests(): string {
  const dir = mkdtempSync(join(tmpdir(), 'inferd-ns-'));
  const isvc = (ns: string, name: string) => `---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: ${name}, namespace: ${ns}}
spec: {predictor: {model: {modelFormat: {name: slow}}}}
`;
  writeFileSync(join(dir, 'models.yaml'), `${SLOW_JS_RUNTIME}${isvc('team-a', 'echo')}${isvc('team-b', 'echo')}${isvc('team-b', 'hidden')}`);
  return join(dir, 'models.yaml');
}

/** node:http, because fetch does not let a caller set Host. */
function call(url: string, token: string | undefined, opts: { method?: string; body?: string; host?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(opts.body ? { 'content-type': 'application/json' } : {}), ...(opts.host ? { host: opts.host } : {}), ...opts.headers };
    const req = request(url, { method: opts.method ?? (opts.body ? 'POST' : 'GET'), headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        let json: unknown = text;
        try {
          json = JSON.parse(text);
        } catch {
          // left as text
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The `calls` count the answering echo model reports: which of the two answered. */
const callsOf = (r: { status: number; json: any }) => {
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.outputs[0].data[0] as number;
};

describe('namespaced URLs: every InferenceService reachable by its own URL', () => {
  let srv: InferdProcess;
  let admin: string;
  let teamA: string;
  let port: string;

  before(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'inferd-ns-data-'));
    srv = await startInferd(['-f', manifests(), '--auth', 'keys'], { dataDir });
    admin = adminKeyOf(dataDir);
    port = new URL(srv.http).port;
    for (const [ns, name] of [['team-a', 'echo'], ['team-b', 'echo'], ['team-b', 'hidden']] as const) {
      for (let i = 0; i < 300 && (await call(`${srv.http}/ns/${ns}/v2/models/${name}/ready`, admin)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
    }
    teamA = await createKey(srv.http, admin, 'predictor', ['team-a']);
  });
  after(async () => {
    await srv.stop();
  });

  it('the URL `inferd get isvc` prints answers, with no other header', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'get', 'isvc', '-A', '--server', srv.http, '--token', admin]);
    const urlOf = (ns: string, name: string) => {
      const line = stdout.split('\n').find((l) => l.split(/\s+/)[0] === ns && l.split(/\s+/)[1] === name);
      assert.ok(line, stdout);
      return line.trim().split(/\s+/).at(-1)!;
    };
    const urlB = urlOf('team-b', 'echo');
    const urlA = urlOf('team-a', 'echo');
    assert.equal(urlB, `${srv.http}/ns/team-b/v2/models/echo`);
    assert.equal((await call(urlB, admin)).json.name, 'echo');
    assert.equal(callsOf(await call(`${urlB}/infer`, admin, { body: BODY })), 1);
    assert.equal(callsOf(await call(`${urlB}/infer`, admin, { body: BODY })), 2);
    // team-a's echo is another model: its own count.
    assert.equal(callsOf(await call(`${urlA}/infer`, admin, { body: BODY })), 1);
    // The header keeps working and reaches the same model as the path.
    assert.equal(callsOf(await call(`${srv.http}/v2/models/echo/infer`, admin, { body: BODY, headers: { 'inferd-namespace': 'team-b' } })), 3);
  });

  it('path-based routes for V2, V1 and OpenAI under /ns/{namespace}', async () => {
    assert.deepEqual((await call(`${srv.http}/ns/team-b/v2/models/hidden/ready`, admin)).json, { name: 'hidden', ready: true });
    assert.deepEqual((await call(`${srv.http}/ns/team-b/v2/models/echo/versions/1/ready`, admin)).json, { name: 'echo', ready: true });
    assert.deepEqual((await call(`${srv.http}/ns/team-b/v1/models/hidden`, admin)).json, { name: 'hidden', ready: true });
    assert.equal((await call(`${srv.http}/ns/team-b/v1/models/hidden/metadata`, admin)).json.name, 'hidden');
    const list = await call(`${srv.http}/ns/team-b/openai/v1/models`, admin);
    assert.deepEqual([...list.json.models].sort(), ['echo', 'hidden']);
    // A model that is not in the namespace the path names is not found, even if another namespace has it.
    assert.equal((await call(`${srv.http}/ns/team-a/v2/models/hidden/ready`, admin)).status, 404);
  });

  it('host-based routes: {name}.{namespace}.{domain} selects the namespace, as status.address.url says', async () => {
    const isvc = await call(`${srv.http}/apis/serving.kserve.io/v1beta1/namespaces/team-b/inferenceservices/echo`, admin);
    assert.equal(isvc.json.status.address.url, `http://echo.team-b.inferd.local:${port}`);
    const before = callsOf(await call(`${srv.http}/ns/team-b/v2/models/echo/infer`, admin, { body: BODY }));
    assert.equal(callsOf(await call(`${srv.http}/v2/models/echo/infer`, admin, { body: BODY, host: `echo.team-b.inferd.local:${port}` })), before + 1);
    assert.equal((await call(`${srv.http}/v2/models/hidden/ready`, admin, { host: 'hidden.team-b.inferd.local' })).json.ready, true);
    assert.equal((await call(`${srv.http}/v2/models/hidden/ready`, admin, { host: 'hidden.team-a.inferd.local' })).status, 404);
  });

  it('a key for team-a cannot reach team-b by path, header or Host: 404 as for a missing model', async () => {
    const missing = await call(`${srv.http}/ns/team-a/v2/models/nothing/infer`, teamA, { body: BODY });
    assert.equal(missing.status, 404);
    assert.equal(callsOf(await call(`${srv.http}/ns/team-a/v2/models/echo/infer`, teamA, { body: BODY })), 2);
    const before = callsOf(await call(`${srv.http}/ns/team-b/v2/models/echo/infer`, admin, { body: BODY }));
    const attempts = [
      call(`${srv.http}/ns/team-b/v2/models/echo/infer`, teamA, { body: BODY }),
      call(`${srv.http}/ns/team-b/v2/models/hidden/ready`, teamA),
      call(`${srv.http}/ns/team-b/v2/models/hidden`, teamA),
      call(`${srv.http}/ns/team-b/v1/models/hidden`, teamA),
      call(`${srv.http}/ns/team-b/openai/v1/models`, teamA),
      call(`${srv.http}/ns/team-b/openai/v1/chat/completions`, teamA, { body: JSON.stringify({ model: 'hidden', messages: [] }) }),
      call(`${srv.http}/v2/models/hidden/infer`, teamA, { body: BODY, host: 'hidden.team-b.inferd.local' }),
      call(`${srv.http}/v2/models/echo/infer`, teamA, { body: BODY, headers: { 'inferd-namespace': 'team-b' } }),
    ];
    for (const r of await Promise.all(attempts)) assert.equal(r.status, 404, JSON.stringify(r.json));
    // None of them reached team-b's model.
    assert.equal(callsOf(await call(`${srv.http}/ns/team-b/v2/models/echo/infer`, admin, { body: BODY })), before + 1);
  });
});
