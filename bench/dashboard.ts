import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { REPO_ROOT, startInferd, waitReady, type InferdProcess } from '../test/helpers/inferd-process.js';
import { warmedLoad } from './load.js';
import { fmt, type Figures } from './stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const UI_DIR = join(REPO_ROOT, 'dist/ui');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const JS_TARGET_KB = 150;
const MODELS = 200;
const BODY = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] });

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
}

/** (a) What a first visit downloads in script: every JS file of the build, gzip level 9. */
function jsSize(): string {
  if (!existsSync(join(UI_DIR, 'index.html'))) return 'dashboard JS: dist/ui is not built (run npm run build)';
  const js = files(UI_DIR).filter((f) => f.endsWith('.js'));
  const raw = js.reduce((n, f) => n + statSync(f).size, 0);
  const gz = js.reduce((n, f) => n + gzipSync(readFileSync(f), { level: 9 }).length, 0);
  const kb = gz / 1024;
  return `dashboard JS: ${js.length} files, ${(raw / 1024).toFixed(1)} KB, ${kb.toFixed(1)} KB gzipped (target <= ${JS_TARGET_KB} KB: ${kb <= JS_TARGET_KB ? 'met' : 'MISSED'})`;
}

/** The demo ONNX MLP (measured) plus 200 on-demand custom-JS models (the list the dashboard renders and watches). */
function manifests(): string {
  const dir = mkdtempSync(join(tmpdir(), 'inferd-bench-dash-'));
  const sized = join(REPO_ROOT, 'test/fixtures/custom/sized-model.mjs');
  const docs = [
    `apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: mlp}\nspec: {predictor: {model: {modelFormat: {name: onnx}, storageUri: "file://${join(REPO_ROOT, 'examples/demo/models/iris-mlp')}"}}}\n`,
    `apiVersion: serving.kserve.io/v1alpha1\nkind: ClusterServingRuntime\nmetadata: {name: sized, annotations: {inferd.dev/module: "${sized}"}}\nspec:\n  supportedModelFormats: [{name: sized, autoSelect: true}]\n  containers: [{name: kserve-container, args: ["--memory_bytes=1048576"]}]\n`,
  ];
  for (let i = 0; i < MODELS; i++) docs.push(`apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: m${i}, namespace: team-${i % 4}}\nspec: {predictor: {minReplicas: 0, model: {modelFormat: {name: sized}}}}\n`);
  writeFileSync(join(dir, 'models.yaml'), docs.join('---\n'));
  return join(dir, 'models.yaml');
}

async function watchers(srv: InferdProcess, token: string): Promise<number> {
  const r = await fetch(`${srv.http}/apis/inferd.dev/v1/server`, { headers: { authorization: `Bearer ${token}` } });
  return ((await r.json()) as { dashboard: { watchers: number } }).dashboard.watchers;
}

async function waitWatchers(srv: InferdProcess, token: string, n: number, timeoutMs = 20_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if ((await watchers(srv, token)) >= n) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** One warm-up second, then the measured run. */
async function infer(srv: InferdProcess, token: string): Promise<Figures> {
  const opts = { url: `${srv.http}/v2/models/mlp/infer`, body: BODY, connections: 8, headers: { authorization: `Bearer ${token}` } };
  return warmedLoad(opts, SECONDS);
}

/** The server's share alone: one watch stream read by a plain client, no browser on the CPU. */
function sseClient(srv: InferdProcess, token: string): { close(): void; bytes(): number } {
  const u = new URL(`${srv.http}/apis/inferd.dev/v1/watch`);
  let bytes = 0;
  const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => res.on('data', (c: Buffer) => (bytes += c.length)));
  req.on('error', () => undefined);
  req.end();
  return { close: () => req.destroy(), bytes: () => bytes };
}

/**
 * `dashboard`: (a) the UI's script size against its budget; (b) V2 inference
 * throughput of the demo MLP with 200 more InferenceServices deployed, without the
 * dashboard, with one raw watch stream, and with the Models page open in headless
 * Chromium receiving live updates (target: >= 95% of the throughput without).
 */
export async function benchDashboard(): Promise<string[]> {
  const out = [jsSize()];
  const dataDir = mkdtempSync(join(tmpdir(), 'inferd-bench-dash-data-'));
  const srv = await startInferd(['-f', manifests(), '--auth', 'keys'], { dataDir });
  try {
    const token = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    await waitReady(srv.http, 180_000);
    out.push(`demo MLP over V2 REST, 8 connections, ${SECONDS} s per run; ${MODELS} more InferenceServices deployed (on-demand, 4 namespaces); admin key on every request`);
    const before = await infer(srv, token);
    out.push(fmt('no dashboard', before));

    const sse = sseClient(srv, token);
    await waitWatchers(srv, token, 1);
    const withSse = await infer(srv, token);
    sse.close();
    out.push(fmt('one watch stream (plain client)', withSse) + `  ${((withSse.rps / before.rps) * 100).toFixed(1)}%; ${(sse.bytes() / 1024).toFixed(0)} KB of events`);

    let withBrowser: Figures | undefined;
    if (!existsSync(join(UI_DIR, 'index.html'))) out.push('Models page in Chromium: skipped, dist/ui is not built (run npm run build)');
    else if (!existsSync(CHROMIUM)) out.push(`Models page in Chromium: skipped, no ${CHROMIUM} (apt-get install chromium)`);
    else {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
      try {
        const page = await browser.newPage();
        // The page keeps its credential in sessionStorage: sign in as the dashboard's sign-in form would.
        await page.addInitScript({ content: `sessionStorage.setItem('inferd.token', ${JSON.stringify(token)});` });
        await page.goto(`${srv.http}/ui/#/models`);
        if (!(await waitWatchers(srv, token, 1))) out.push('Models page in Chromium: the page opened no watch stream within 20 s; measured anyway');
        await page.getByText('m199', { exact: false }).first().waitFor({ timeout: 20_000 }).catch(() => out.push('Models page in Chromium: m199 never appeared on the page'));
        withBrowser = await infer(srv, token);
        out.push(fmt('Models page open in headless Chromium', withBrowser) + `  ${((withBrowser.rps / before.rps) * 100).toFixed(1)}% (target >= 95%: ${withBrowser.rps / before.rps >= 0.95 ? 'met' : 'MISSED'})`);
      } finally {
        await browser.close();
      }
    }
    // The same run again without the dashboard, so drift on a shared machine shows.
    const afterwards = await infer(srv, token);
    out.push(fmt('no dashboard again', afterwards) + `  ${((afterwards.rps / before.rps) * 100).toFixed(1)}% of the first run`);
    return out;
  } finally {
    await srv.stop();
  }
}
