import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InferdError } from '../../api/errors.js';

export interface ModelDir {
  kind: 'savedmodel' | 'tfjs';
  dir: string;
  /** The numeric version subdirectory served, when the path is a TF Serving base path. */
  version?: string;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/**
 * Resolves a storage path the way TF Serving and KServe's TensorFlow runtime do: a SavedModel
 * (`saved_model.pb`), a TF.js graph model (`model.json`), or a model base path whose numeric
 * subdirectories are versions (the highest is served unless `version` names one).
 */
export async function resolveModelDir(path: string, wantVersion?: string): Promise<ModelDir> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new InferdError('not_found', `model path ${path} does not exist`);
  if (info.isFile()) {
    if (path.endsWith('saved_model.pb')) return { kind: 'savedmodel', dir: join(path, '..') };
    if (path.endsWith('.json')) return { kind: 'tfjs', dir: join(path, '..') };
    throw new InferdError('invalid_input', `${path} is neither a SavedModel directory nor a TF.js model.json`);
  }
  if (wantVersion === undefined) {
    if (await exists(join(path, 'saved_model.pb'))) return { kind: 'savedmodel', dir: path };
    if (await exists(join(path, 'model.json'))) return { kind: 'tfjs', dir: path };
  }
  const versions = (await readdir(path, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && /^\d+$/.test(e.name))
    .map((e) => e.name)
    .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  if (versions.length === 0) {
    throw new InferdError('not_found', `${path} holds no saved_model.pb, model.json or numeric version directories; export with tf.saved_model.save(model, "${path}/1")`);
  }
  const version = wantVersion === undefined ? versions[versions.length - 1]! : versions.find((v) => BigInt(v) === BigInt(wantVersion));
  if (version === undefined) throw new InferdError('not_found', `${path} has no version ${wantVersion}; it has ${versions.join(', ')}`);
  const dir = join(path, version);
  if (await exists(join(dir, 'saved_model.pb'))) return { kind: 'savedmodel', dir, version: String(BigInt(version)) };
  if (await exists(join(dir, 'model.json'))) return { kind: 'tfjs', dir, version: String(BigInt(version)) };
  throw new InferdError('not_found', `version directory ${dir} holds neither saved_model.pb nor model.json`);
}
