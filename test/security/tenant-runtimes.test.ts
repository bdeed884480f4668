import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../src/api/resources/manifest.js';
import { RuntimePolicy } from '../../src/control/runtime-policy.js';
import { REPO_ROOT, startInferd, type InferdProcess } from '../helpers/inferd-process.js';
import { adminKeyOf, createKey } from '../helpers/keys.js';

/**
 * Issue 17 item 1, as a hostile tenant would try it: a `deployer` key for team-a against a
 * real `inferd serve` with keys on. Commands and modules are the operator's decision.
 */
const FIXTURE = join(REPO_ROOT, 'test/fixtures/process/v2-server.mjs');
const APPLY = '/apis/inferd.dev/v1/apply';
const ISVCS = '/apis/serving.kserve.io/v1beta1/namespaces/team-a/inferenceservices';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function req(base: string, method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    // Several resources go as a multi-document stream (JSON is YAML).
    ...(body !== undefined ? { body: Array.isArray(body) ? body.map((d) => JSON.stringify(d)).join('\n---\n') : JSON.stringify(body) } : {}),
  });
  return { status: res.status, text: await res.text() };
}

function runtime(name: string, container: Record<string, unknown>, annotations: Record<string, string> = {}, kind = 'ServingRuntime') {
  return {
    apiVersion: 'serving.kserve.io/v1alpha1',
    kind,
    metadata: { name, ...(kind === 'ServingRuntime' ? { namespace: 'team-a' } : {}), annotations: { 'inferd.dev/termination-grace-seconds': '2', ...annotations } },
    spec: { supportedModelFormats: [{ name: `fmt-${name}` }], protocolVersions: ['v2', 'v1'], containers: [{ name: 'kserve-container', ...container }] },
  };
}

function isvc(name: string, rt: string, model: Record<string, unknown> = {}) {
  return {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: { name, namespace: 'team-a' },
    spec: { predictor: { model: { modelFormat: { name: `fmt-${rt}` }, runtime: rt, ...model } } },
  };
}

/** Polls an InferenceService until PredictorReady is True or False. */
async function settled(base: string, token: string, name: string): Promise<{ status: string; reason?: string; message?: string }> {
  for (let i = 0; i < 600; i++) {
    const r = await req(base, 'GET', `${ISVCS}/${name}`, token);
    if (r.status === 200) {
      const cond = (JSON.parse(r.text) as { status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> } }).status?.conditions?.find((c) => c.type === 'PredictorReady');
      if (cond && cond.status !== 'Unknown') return cond;
    }
    await sleep(100);
  }
  throw new Error(`InferenceService ${name} did not settle`);
}

async function waitFor<T>(what: string, probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = probe();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('tenant runtimes: no code or commands from a tenant', () => {
  let srv: InferdProcess;
  let admin: string;
  let deployer: string;
  let work: string;
  let roots: string;
  let outside: string;
  const evil = () => join(outside, 'pwned');
  const pids: number[] = [];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'inferd-tenant-rt-'));
    roots = join(work, 'modules');
    outside = join(work, 'outside');
    mkdirSync(roots);
    mkdirSync(outside);
    // Importing this module is the attack: it leaves a file behind.
    writeFileSync(join(outside, 'evil.mjs'), `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(evil())}, 'x');\nexport default class { predict() { return { outputs: [] }; } }\n`);
    writeFileSync(join(roots, 'ok.mjs'), `export default class { predict() { return { outputs: [] }; } }\n`);
    symlinkSync(join(outside, 'evil.mjs'), join(roots, 'link.mjs'));
    const config = join(work, 'config.yaml');
    writeFileSync(config, `runtimes:\n  allowCommands: [${JSON.stringify(`${process.execPath} ${FIXTURE}`)}]\n  moduleRoots: [${JSON.stringify(roots)}]\n`);
    const dataDir = join(work, 'data');
    srv = await startInferd(['--auth', 'keys', '--config', config], { dataDir });
    admin = adminKeyOf(dataDir);
    deployer = await createKey(srv.http, admin, 'deployer', ['team-a']);
  });

  after(async () => {
    await srv?.stop();
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });

  it('refuses a deployer runtime with a shell command (403 naming the rule); the command never runs', async () => {
    const marker = join(outside, 'shell-ran');
    const r = await req(srv.http, 'POST', APPLY, deployer, [runtime('sh', { command: ['sh', '-c', `touch ${marker}`] }), isvc('sh-model', 'sh')]);
    assert.equal(r.status, 403, r.text);
    assert.match(r.text, /ServingRuntime sh: container command sh needs the admin role or a runtimes\.allowCommands entry/);
    assert.equal((await req(srv.http, 'GET', `${ISVCS}/sh-model`, deployer)).status, 404, 'a refused batch stores nothing');
    await sleep(500);
    assert.equal(existsSync(marker), false);
  });

  it('refuses a deployer runtime with a module annotation outside runtimes.moduleRoots', async () => {
    const r = await req(srv.http, 'POST', APPLY, deployer, [runtime('mod', { image: 'x' }, { 'inferd.dev/module': join(outside, 'evil.mjs') })]);
    assert.equal(r.status, 403, r.text);
    assert.match(r.text, /runtimes\.moduleRoots/);
    assert.equal(existsSync(evil()), false);
  });

  it('refuses a module whose path is inside moduleRoots but a symlink to outside (real path decides)', async () => {
    const r = await req(srv.http, 'POST', APPLY, deployer, [runtime('link', { image: 'x' }, { 'inferd.dev/module': join(roots, 'link.mjs') })]);
    assert.equal(r.status, 403, r.text);
    assert.match(r.text, /runtimes\.moduleRoots/);
    assert.equal(existsSync(evil()), false);
  });

  it('re-checks at load time: a module swapped for a symlink after the apply is not imported', async () => {
    const late = join(roots, 'late.mjs');
    writeFileSync(late, `export default class { predict() { return { outputs: [] }; } }\n`);
    const r = await req(srv.http, 'POST', APPLY, deployer, [runtime('late', { image: 'x' }, { 'inferd.dev/module': late })]);
    assert.equal(r.status, 200, r.text);
    rmSync(late);
    symlinkSync(join(outside, 'evil.mjs'), late);
    assert.equal((await req(srv.http, 'POST', APPLY, deployer, [isvc('late-model', 'late')])).status, 200);
    const cond = await settled(srv.http, deployer, 'late-model');
    assert.equal(cond.status, 'False');
    assert.equal(cond.reason, 'RuntimeNotAllowed', cond.message);
    assert.equal(existsSync(evil()), false);
  });

  it('loads a deployer module inside runtimes.moduleRoots', async () => {
    const r = await req(srv.http, 'POST', APPLY, deployer, [runtime('ok', { image: 'x' }, { 'inferd.dev/module': join(roots, 'ok.mjs') }), isvc('ok-model', 'ok')]);
    assert.equal(r.status, 200, r.text);
    const cond = await settled(srv.http, deployer, 'ok-model');
    assert.equal(cond.status, 'True', cond.message);
  });

  it('refuses a deployer InferenceService that picks the vLLM command or preloads a library', async () => {
    const vllm = { apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name: 'llm', namespace: 'team-a' }, spec: { predictor: { model: { modelFormat: { name: 'vllm' }, env: [{ name: 'VLLM_COMMAND', value: `sh -c touch${'${IFS}'}${join(outside, 'vllm-ran')}` }] } } } };
    const r = await req(srv.http, 'POST', APPLY, deployer, [vllm]);
    assert.equal(r.status, 403, r.text);
    assert.match(r.text, /InferenceService llm: container command sh needs the admin role or a runtimes\.allowCommands entry/);
    const preload = isvc('preload', 'allowed', { env: [{ name: 'LD_PRELOAD', value: '/mnt/models/evil.so' }] });
    const p = await req(srv.http, 'POST', APPLY, deployer, [preload]);
    assert.equal(p.status, 403, p.text);
    assert.match(p.text, /env LD_PRELOAD .*needs the admin role/);
  });

  it('keeps ClusterServingRuntimes admin-only', async () => {
    const r = await req(srv.http, 'POST', APPLY, deployer, [runtime('cluster', { image: 'x' }, {}, 'ClusterServingRuntime')]);
    assert.equal(r.status, 403, r.text);
    assert.match(r.text, /cluster-scoped/);
  });

  it('lets an admin apply a command runtime', async () => {
    const marker = join(outside, 'admin-ran');
    const r = await req(srv.http, 'POST', APPLY, admin, [runtime('admin-sh', { command: ['sh', '-c', `touch ${marker}; sleep 30`] }, { 'inferd.dev/startup-timeout-seconds': '1' }), isvc('admin-model', 'admin-sh')]);
    assert.equal(r.status, 200, r.text);
    await waitFor('the admin command to run', () => (existsSync(marker) ? true : undefined));
  });

  it('runs an allow-listed command for a deployer, bound to loopback whatever host it asks for', async () => {
    const report = join(work, 'bind.json');
    // The trust mark is the server's: one in the body is dropped, so the load-time re-check still applies.
    const rt = runtime('allowed', { command: [process.execPath, FIXTURE], args: ['--model_name={{.Name}}', '--http_port=8080'], env: [{ name: 'HOST', value: '0.0.0.0' }, { name: 'REPORT_FILE', value: report }] }, { 'inferd.dev/trusted-by': 'admin' });
    const model = isvc('bound', 'allowed', { args: ['--host=0.0.0.0'] });
    const r = await req(srv.http, 'POST', APPLY, deployer, [rt, model]);
    assert.equal(r.status, 200, r.text);
    const cond = await settled(srv.http, deployer, 'bound');
    assert.equal(cond.status, 'True', cond.message);
    const told = JSON.parse(readFileSync(report, 'utf8')) as { pid: number; host: string };
    pids.push(told.pid);
    assert.equal(told.host, '127.0.0.1');
    const stored = await req(srv.http, 'GET', '/apis/serving.kserve.io/v1alpha1/namespaces/team-a/servingruntimes', deployer);
    const allowed = (JSON.parse(stored.text) as { items: Array<{ metadata: { name: string; annotations?: Record<string, string> } }> }).items.find((i) => i.metadata.name === 'allowed');
    assert.equal(allowed?.metadata.annotations?.['inferd.dev/trusted-by'], undefined);
  });

  it('does not serve a process that listens beyond loopback anyway (a host inside a shell string)', async () => {
    const report = join(work, 'wide.json');
    const shell = `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(FIXTURE)} --model_name=wide --host=0.0.0.0`;
    const rt = runtime('wide', { command: ['sh', '-c', shell], env: [{ name: 'REPORT_FILE', value: report }] }, { 'inferd.dev/startup-timeout-seconds': '60' });
    const r = await req(srv.http, 'POST', APPLY, admin, [rt, isvc('wide', 'wide')]);
    assert.equal(r.status, 200, r.text);
    const cond = await settled(srv.http, admin, 'wide');
    assert.equal(cond.status, 'False');
    assert.equal(cond.reason, 'ListensBeyondLoopback', cond.message);
    const { pid } = JSON.parse(readFileSync(report, 'utf8')) as { pid: number };
    pids.push(pid);
    await waitFor(`pid ${pid} to exit`, () => (alive(pid) ? undefined : true));
  });

  it('stops an external process when its InferenceService is deleted while it is still starting', async () => {
    const report = join(work, 'slow.json');
    const rt = runtime('slow', { command: [process.execPath, FIXTURE], args: ['--model_name={{.Name}}'], env: [{ name: 'STARTUP_DELAY_MS', value: '600000' }, { name: 'REPORT_FILE', value: report }] }, { 'inferd.dev/startup-timeout-seconds': '300' });
    const r = await req(srv.http, 'POST', APPLY, admin, [rt, isvc('slow-model', 'slow')]);
    assert.equal(r.status, 200, r.text);
    const { pid } = await waitFor('the slow process to start', () => (existsSync(report) ? (JSON.parse(readFileSync(report, 'utf8')) as { pid: number }) : undefined));
    pids.push(pid);
    assert.ok(alive(pid));
    const d = await req(srv.http, 'DELETE', `${ISVCS}/slow-model`, admin);
    assert.equal(d.status, 200, d.text);
    // Bounded wait (the startup timeout is 300 s): the delete, not the timeout, ends it.
    await waitFor(`pid ${pid} to exit`, () => (alive(pid) ? undefined : true));
  });
});

describe('runtime policy rules (unit)', () => {
  const policy = new RuntimePolicy({ allowCommands: ['/usr/bin/python3 -m kserve_sklearnserver'], moduleRoots: [] });
  const rt = (container: Record<string, unknown>) => runtime('r', container) as unknown as Resource;

  it('matches allowCommands token by token, as a prefix', () => {
    assert.equal(policy.commandAllowed(['/usr/bin/python3', '-m', 'kserve_sklearnserver', '--http_port=8080']), true);
    assert.equal(policy.commandAllowed(['/usr/bin/python3', '-m', 'kserve_sklearnserver_evil']), false);
    assert.equal(policy.commandAllowed(['/usr/bin/python3', '-c', 'import os']), false);
    assert.equal(policy.commandAllowed(['/usr/bin/python3']), false);
  });

  it('refuses tenant workingDir and --trust-remote-code, never an operator or admin', () => {
    const wd = rt({ command: ['/usr/bin/python3', '-m', 'kserve_sklearnserver'], workingDir: '/tmp/tenant' });
    assert.throws(() => policy.checkApply(wd, 'tenant', '/'), /workingDir needs the admin role/);
    const trc = rt({ image: 'x', args: ['--trust-remote-code'] });
    assert.throws(() => policy.checkApply(trc, 'tenant', '/'), /--trust-remote-code runs code from the model files/);
    for (const trust of ['operator', 'admin'] as const) {
      policy.checkApply(wd, trust, '/');
      policy.checkApply(trc, trust, '/');
    }
  });

  it('refuses a module for a tenant when moduleRoots is empty (the default)', () => {
    assert.throws(() => policy.checkModule('ServingRuntime r', './m.mjs', REPO_ROOT), /needs the admin role or a runtimes\.moduleRoots entry/);
  });
});
