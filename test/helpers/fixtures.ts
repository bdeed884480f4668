import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './inferd-process.js';

export const ONNX_FIXTURES = join(REPO_ROOT, 'test/fixtures/onnx');
export const MANIFESTS = join(REPO_ROOT, 'test/fixtures/manifests');

/** A ClusterServingRuntime for format `slow`: the custom JS model in test/fixtures/custom/slow-model.mjs. */
export const SLOW_JS_RUNTIME = `apiVersion: serving.kserve.io/v1alpha1
kind: ClusterServingRuntime
metadata:
  name: slow-js
  annotations: {inferd.dev/module: "${join(REPO_ROOT, 'test/fixtures/custom/slow-model.mjs')}"}
spec:
  supportedModelFormats: [{name: slow, autoSelect: true}]
  containers: [{name: kserve-container, args: ["--delay_ms=0"]}]
`;

export interface TensorCase {
  shape: number[];
  data: Array<number | boolean>;
}
export interface Expected {
  inputs: Record<string, TensorCase>;
  outputs: Record<string, TensorCase>;
}

export function expected(name: string): Expected {
  return JSON.parse(readFileSync(join(ONNX_FIXTURES, name, 'expected.json'), 'utf8')) as Expected;
}

/** Element-wise comparison with a relative tolerance (absolute near zero). */
export function assertClose(actual: ArrayLike<number | boolean>, want: ArrayLike<number | boolean>, rel: number, what = 'values'): void {
  assert.equal(actual.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const a = Number(actual[i]);
    const w = Number(want[i]);
    const tol = rel * Math.max(1, Math.abs(w));
    assert.ok(Math.abs(a - w) <= tol, `${what}[${i}]: got ${a}, want ${w} (±${tol})`);
  }
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Left as text for the assertion to show.
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
