import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { InferdError } from '../api/errors.js';

/** KServe's model-server flags, in both spellings, mapped to inferd's. */
const KSERVE_FLAGS: Record<string, string> = {
  '--model_name': '--model-name',
  '--model_dir': '--model-dir',
  '--model_format': '--model-format',
  '--http_port': '--http-port',
  '--grpc_port': '--grpc-port',
};

/** Rewrites `--model_name=x` / `--model_name x` to the hyphenated spelling commander reads. */
export function normalizeKserveFlags(argv: readonly string[]): string[] {
  return argv.map((arg) => {
    const [flag, ...rest] = arg.split('=');
    const mapped = flag !== undefined ? KSERVE_FLAGS[flag] : undefined;
    return mapped ? [mapped, ...rest].join('=') : arg;
  });
}

/** Picks the model format from the files, as KServe's model servers do. */
export async function detectFormat(dir: string): Promise<string> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) throw new InferdError('not_found', `--model_dir ${dir} does not exist`);
  const files = info.isFile() ? [dir] : (await readdir(dir)).map((f) => join(dir, f));
  const names = files.map((f) => f.toLowerCase());
  const has = (pred: (n: string) => boolean) => names.some(pred);
  if (has((n) => n.endsWith('saved_model.pb')) || (await hasVersionedSavedModel(files))) return 'tensorflow';
  if (has((n) => n.endsWith('.onnx'))) return 'onnx';
  if (has((n) => n.endsWith('.gguf'))) return 'gguf';
  if (has((n) => ['.joblib', '.pkl', '.pickle'].includes(extname(n)))) return 'sklearn';
  const json = files.find((f) => f.toLowerCase().endsWith('model.json'));
  if (json && (await readFile(json, 'utf8').catch(() => '')).includes('"modelTopology"')) return 'tfjs';
  if (has((n) => n.endsWith('.txt'))) return 'lightgbm';
  if (has((n) => ['.json', '.ubj', '.bst'].includes(extname(n)))) return 'xgboost';
  throw new InferdError('invalid_input', `no model file inferd recognizes in ${dir}; name the format with --model_format`);
}

async function hasVersionedSavedModel(files: string[]): Promise<boolean> {
  for (const f of files) {
    if (!/\/\d+$/.test(f)) continue;
    if (await stat(join(f, 'saved_model.pb')).catch(() => undefined)) return true;
  }
  return false;
}

/** The InferenceService a KServe runtime container would be serving: one model from one directory. */
export function modelServerManifest(name: string, dir: string, format: string): string {
  return stringify({
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: { name },
    spec: { predictor: { model: { modelFormat: { name: format }, storageUri: `file://${resolve(dir)}` } } },
  });
}
