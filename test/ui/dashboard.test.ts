import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { REPO_ROOT, startInferd, waitReady, type InferdProcess } from '../helpers/inferd-process.js';
import { axeProblems, ensureUiBuilt, launch, open, shot, signIn, skipReason, until, type Session } from './browser.js';

const IRIS = `file://${join(REPO_ROOT, 'examples/demo/models/iris-mlp')}`;
const isvcYaml = (ns: string, name: string, uri: string, extra = '') => `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  predictor:${extra}
    model:
      modelFormat:
        name: onnx
      storageUri: ${uri}
`;

async function api(base: string, token: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<unknown> {
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...headers }, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as unknown;
}

const row = (page: Page, ns: string, name: string) => page.locator(`[data-testid="model-row"][data-namespace="${ns}"][data-model="${name}"]`);

async function trafficOf(page: Page): Promise<Record<string, number>> {
  const rows = page.getByTestId('traffic-row');
  const out: Record<string, number> = {};
  for (let i = 0; i < (await rows.count()); i++) {
    const r = rows.nth(i);
    out[(await r.getAttribute('data-revision'))!] = Number(await r.getAttribute('data-percent'));
  }
  return out;
}

describe('web dashboard against a real inferd serve (chromium)', { skip: skipReason() }, () => {
  let srv: InferdProcess;
  let admin: string;
  let browser: Browser;
  let s: Session;
  const sessions: Session[] = [];

  before(async () => {
    ensureUiBuilt();
    const dataDir = mkdtempSync(join(tmpdir(), 'inferd-ui-'));
    const config = join(dataDir, 'config.yaml');
    writeFileSync(config, `storage: {fileRoots: ["${join(REPO_ROOT, 'examples/demo/models')}"]}\n`);
    srv = await startInferd(['-f', 'examples/demo', '--auth', 'keys', '--config', config], { dataDir });
    admin = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    await waitReady(srv.http, 60_000);
    // A model in another namespace, which a team-a key must never see.
    await api(srv.http, admin, 'POST', '/apis/inferd.dev/v1/apply', isvcYaml('team-b', 'iris-b', IRIS), { 'content-type': 'application/yaml' });
    browser = await launch();
    s = await open(browser, srv.http);
    sessions.push(s);
  });
  after(async () => {
    await browser?.close();
    await srv?.stop();
  });

  it('serves the page with the strict CSP and signs in with the bootstrap key using only the keyboard', async () => {
    const res = await s.page.goto(`${srv.http}/ui/`);
    const csp = res?.headers()['content-security-policy'] ?? '';
    for (const d of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.includes(d), `CSP has ${d}: ${csp}`);
    await shot(s.page, 'signin');
    // A wrong key says what to do next.
    await s.page.getByLabel('API key or OIDC bearer token').fill('ik_000000000000_' + 'x'.repeat(43));
    await s.page.keyboard.press('Enter');
    await s.page.getByTestId('error').getByText('sign in with a valid key').waitFor();
    await s.page.getByLabel('API key or OIDC bearer token').fill('');
    await s.page.getByLabel('API key or OIDC bearer token').focus();
    await s.page.keyboard.type(admin);
    await s.page.keyboard.press('Enter');
    await s.page.getByTestId('whoami').waitFor();
    assert.ok(!s.page.url().includes(admin.slice(16)), 'the key is never in the URL');
    await row(s.page, 'default', 'demo-mlp').and(s.page.locator('[data-state="Ready"]')).waitFor({ timeout: 30_000 });
    await shot(s.page, 'models');
  });

  it('shows a validation error at the field path it names', async () => {
    await s.page.getByTestId('nav-deploy').click();
    await s.page.getByTestId('yaml').fill(isvcYaml('team-a', 'bad-field', IRIS).replace('storageUri:', 'storageUrl:'));
    await s.page.getByTestId('apply').click();
    const err = s.page.getByTestId('yaml-field-error');
    await err.waitFor();
    const text = await err.innerText();
    assert.match(text, /spec\.predictor\.model/);
    assert.match(text, /line \d+/);
  });

  it('deploys a second model from pasted YAML and shows progress until Ready', async () => {
    await s.page.getByTestId('yaml').fill(isvcYaml('team-a', 'iris-two', IRIS));
    await s.page.getByTestId('apply').click();
    await s.page.locator('[data-testid="progress-item"][data-model="iris-two"][data-state="Ready"]').waitFor({ timeout: 30_000 });
    await shot(s.page, 'deploy');
    await s.page.getByTestId('nav-models').click();
    await row(s.page, 'team-a', 'iris-two').and(s.page.locator('[data-state="Ready"]')).waitFor();
  });

  it('deploys a broken model from the form and shows FailedToLoad with its reason', async () => {
    await s.page.getByTestId('nav-deploy').click();
    await s.page.getByTestId('mode-form').check();
    await s.page.getByLabel('Name', { exact: true }).fill('broken');
    await s.page.getByLabel('Namespace', { exact: true }).fill('default');
    await s.page.getByLabel('Storage URI').fill('file:///nonexistent/model-dir');
    assert.match(await s.page.getByTestId('form-yaml').textContent() ?? '', /storageUri: "?file:\/\/\/nonexistent/);
    await s.page.getByTestId('apply').click();
    await s.page.locator('[data-testid="progress-item"][data-model="broken"][data-state="FailedToLoad"]').waitFor({ timeout: 30_000 });
    await s.page.getByTestId('nav-models').click();
    const r = row(s.page, 'default', 'broken');
    await r.and(s.page.locator('[data-state="FailedToLoad"]')).waitFor();
    const reason = await r.getByTestId('state-reason').innerText();
    assert.match(reason, /nonexistent|not found|no such|does not exist/i, reason);
  });

  it('sets a 30% canary with the slider (keyboard) after a confirmation, then rolls back', async () => {
    // A second revision of iris-two with a 10% canary.
    await s.page.getByTestId('nav-deploy').click();
    await s.page.getByTestId('mode-yaml').check();
    await s.page.getByTestId('yaml').fill(isvcYaml('team-a', 'iris-two', IRIS, '\n    minReplicas: 1\n    canaryTrafficPercent: 10'));
    await s.page.getByTestId('apply').click();
    await s.page.locator('[data-testid="progress-item"][data-model="iris-two"][data-state="Ready"]').waitFor({ timeout: 30_000 });
    await s.page.goto(`${srv.http}/ui/#/rollout/team-a/iris-two`);
    await until('a 10/90 split', async () => {
      const t = await trafficOf(s.page);
      return t['iris-two-predictor-00002'] === 10 && t['iris-two-predictor-00001'] === 90;
    });
    const slider = s.page.getByTestId('canary-slider');
    await slider.focus();
    for (let i = 0; i < 4; i++) await s.page.keyboard.press('ArrowRight');
    assert.equal(await s.page.getByTestId('canary-value').innerText(), '30%');
    await s.page.getByTestId('set-canary').click();
    const dialog = s.page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    assert.match(await s.page.getByTestId('confirm-text').innerText(), /iris-two-predictor-00002 will get 30% .* iris-two-predictor-00001 70%/);
    await shot(s.page, 'rollout-confirm');
    await dialog.getByRole('button', { name: 'Set canary' }).click();
    await until('a 30/70 split', async () => {
      const t = await trafficOf(s.page);
      return t['iris-two-predictor-00002'] === 30 && t['iris-two-predictor-00001'] === 70;
    });
    await shot(s.page, 'rollout');
    await s.page.getByTestId('rollback').click();
    assert.match(await s.page.getByTestId('confirm-text').innerText(), /All traffic goes back to iris-two-predictor-00001/);
    await dialog.getByRole('button', { name: 'Roll back' }).click();
    await until('all traffic on revision 1', async () => {
      const t = await trafficOf(s.page);
      return t['iris-two-predictor-00001'] === 100 && (t['iris-two-predictor-00002'] ?? 0) === 0;
    });
  });

  it('Try it: a V2 prediction gives the same numbers as the API', async () => {
    const body = { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] };
    const direct = (await api(srv.http, admin, 'POST', '/v2/models/demo-mlp/infer', JSON.stringify(body), { 'content-type': 'application/json', 'inferd-namespace': 'default' })) as { outputs: Array<{ data: number[] }> };
    await s.page.goto(`${srv.http}/ui/#/try/default/demo-mlp`);
    await s.page.getByTestId('shape-input').fill('1,4');
    await s.page.getByTestId('data-input').fill('[5.1, 3.5, 1.4, 0.2]');
    await s.page.getByTestId('predict').click();
    const shown = JSON.parse(await s.page.getByTestId('v2-response').innerText()) as { outputs: Array<{ data: number[] }> };
    assert.deepEqual(shown.outputs.map((o) => o.data), direct.outputs.map((o) => o.data));
    assert.match(await s.page.getByTestId('latency').innerText(), /ms/);
    // A bad input says what to do.
    await s.page.getByTestId('data-input').fill('[5.1, 3.5');
    await s.page.getByTestId('predict').click();
    await s.page.getByTestId('error').getByText('Enter a JSON array').waitFor();
    await shot(s.page, 'try-it');
  });

  it('model detail: conditions, traffic, revisions, events, signature, snippets and live charts', async () => {
    // Some traffic for the charts.
    for (let i = 0; i < 5; i++) await api(srv.http, admin, 'POST', '/v2/models/demo-mlp/infer', JSON.stringify({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }), { 'content-type': 'application/json' });
    await s.page.goto(`${srv.http}/ui/#/models/default/demo-mlp`);
    const d = s.page.getByTestId('model-detail');
    await d.getByTestId('conditions').waitFor();
    await d.getByTestId('traffic').waitFor();
    await d.getByTestId('revisions').waitFor();
    await d.getByTestId('events').waitFor();
    await d.getByTestId('signature').getByText('input', { exact: true }).waitFor();
    const code = await d.getByTestId('snippets').locator('pre').innerText();
    assert.match(code, /curl -s .*\/v2\/models\/demo-mlp\/infer/);
    assert.ok(code.includes('$INFERD_TOKEN') && !code.includes(admin), 'snippets never hold the real key');
    await d.getByTestId('live-charts').waitFor({ timeout: 15_000 });
    await shot(s.page, 'model-detail');
  });

  it('Access: a new key is shown once; the audit log verifies; Server shows memory and process', async () => {
    await s.page.getByTestId('nav-access').click();
    await s.page.getByTestId('key-role').selectOption('viewer');
    await s.page.getByTestId('key-namespaces').fill('team-a');
    await s.page.getByTestId('create-key').click();
    const key = (await s.page.getByTestId('new-key-value').innerText()).trim();
    assert.match(key, /^ik_[0-9a-f]{12}_/);
    await shot(s.page, 'access');
    await s.page.getByTestId('dismiss-key').click();
    const prefix = key.split('_').slice(0, 2).join('_');
    await s.page.locator(`[data-testid="key-row"][data-prefix="${prefix}"]`).waitFor();
    assert.ok(!(await s.page.content()).includes(key), 'the key is gone from the page once dismissed');
    await s.page.reload();
    await s.page.locator(`[data-testid="key-row"][data-prefix="${prefix}"]`).waitFor();
    assert.ok(!(await s.page.content()).includes(key), 'and never shown again');
    await s.page.getByTestId('audit-verify').getByText('Chain verified').waitFor();
    await s.page.getByTestId('nav-server').click();
    await s.page.getByTestId('process').waitFor();
    await s.page.getByTestId('server-models').getByText('default/demo-mlp').waitFor();
    await shot(s.page, 'server');

    // The viewer key (team-a) sees team-a only and no deploy, rollout, try or admin parts.
    const v = await open(browser, srv.http);
    sessions.push(v);
    await signIn(v.page, srv.http, key);
    await row(v.page, 'team-a', 'iris-two').waitFor();
    for (const id of ['nav-deploy', 'nav-access', 'nav-server', 'nav-try']) assert.equal(await v.page.getByTestId(id).count(), 0, `${id} hidden for a viewer`);
    const namespaces = await v.page.getByTestId('model-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-namespace')));
    assert.ok(namespaces.length > 0 && namespaces.every((n) => n === 'team-a'), `viewer sees team-a only: ${namespaces.join(',')}`);
    assert.equal(await v.page.getByRole('link', { name: 'Rollout' }).count(), 0);
    assert.equal(await v.page.getByRole('link', { name: 'Deploy a model' }).count(), 0);
    await v.page.goto(`${srv.http}/ui/#/models/team-a/iris-two`);
    await v.page.getByTestId('model-detail').waitFor();
    assert.equal(await v.page.getByRole('link', { name: 'Rollout' }).count(), 0);
    assert.equal(await v.page.getByRole('link', { name: 'Try it' }).count(), 0);
    await v.page.goto(`${srv.http}/ui/#/rollout/team-a/iris-two`);
    await v.page.getByRole('heading', { name: 'Models' }).waitFor();
    assert.equal(await v.page.getByTestId('canary-slider').count(), 0, 'no rollout controls for a viewer');
    await v.page.goto(`${srv.http}/ui/#/models/team-b/iris-b`);
    // Answered like a model that does not exist: nothing from team-b is shown.
    await v.page.getByTestId('error').getByText('HTTP 404').waitFor();
    assert.equal(await v.page.getByTestId('model-detail').count(), 0);
    await shot(v.page, 'viewer-models');
    // Sign out forgets the key.
    await v.page.getByTestId('signout').click();
    await v.page.getByLabel('API key or OIDC bearer token').waitFor();
    await v.page.reload();
    await v.page.getByLabel('API key or OIDC bearer token').waitFor();
  });

  it('has no serious or critical axe violations on any page, light and dark, and works at 400 px', async () => {
    const pages = ['#/models', '#/models/default/demo-mlp', '#/models/default/broken', '#/deploy', '#/rollout/team-a/iris-two', '#/try/default/demo-mlp', '#/server', '#/access'];
    for (const scheme of ['light', 'dark'] as const) {
      const x = await open(browser, srv.http, { colorScheme: scheme });
      sessions.push(x);
      await signIn(x.page, srv.http, admin);
      for (const p of pages) {
        await x.page.goto(`${srv.http}/ui/${p}`);
        await x.page.locator('main h1').first().waitFor();
        await x.page.waitForTimeout(300);
        const problems = await axeProblems(x.page);
        assert.deepEqual(problems, [], `${scheme} ${p}`);
      }
      await x.page.goto(`${srv.http}/ui/#/deploy`);
      await x.page.getByTestId('mode-form').check();
      assert.deepEqual(await axeProblems(x.page), [], `${scheme} deploy form`);
      await shot(x.page, `deploy-form-${scheme}`);
      await x.page.goto(`${srv.http}/ui/#/models`);
      await row(x.page, 'default', 'demo-mlp').waitFor();
      await shot(x.page, `models-${scheme}`);
    }
    const narrow = await open(browser, srv.http, { width: 400, height: 800 });
    sessions.push(narrow);
    await signIn(narrow.page, srv.http, admin);
    for (const p of ['#/models', '#/models/team-a/iris-two', '#/deploy', '#/rollout/team-a/iris-two']) {
      await narrow.page.goto(`${srv.http}/ui/${p}`);
      await narrow.page.locator('main h1').first().waitFor();
      await narrow.page.waitForTimeout(300);
      const width = (await narrow.page.evaluate('document.documentElement.scrollWidth')) as number;
      assert.ok(width <= 410, `${p} fits 400 px (scrollWidth ${width})`);
      await shot(narrow.page, `narrow-${p.replace(/[#/]+/g, '-').replace(/^-|-$/g, '')}`);
    }
  });

  it('never requested another origin and hit no CSP violation or script error', () => {
    for (const x of sessions) {
      assert.deepEqual(x.foreign, []);
      assert.deepEqual(x.problems.filter((p) => /Content Security Policy|pageerror/i.test(p)), []);
    }
  });
});
