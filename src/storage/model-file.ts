import { stat } from 'node:fs/promises';
import { join, extname } from 'node:path';
import { InferdError } from '../api/errors.js';
import { filesIn } from './dir-files.js';

export interface ModelFileRule {
  /** File names tried first, in order, as KServe's servers do (`model.onnx`). */
  names: readonly string[];
  /** Otherwise the single file with one of these extensions. */
  extensions: readonly string[];
}

/**
 * Finds the model file under a storage path the way KServe runtimes do: the path
 * itself when it is a file, else a conventional name, else the only file with a
 * matching extension.
 */
export async function findModelFile(path: string, rule: ModelFileRule): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new InferdError('not_found', `model path ${path} does not exist`);
  if (info.isFile()) return path;
  const files = await filesIn(path);
  for (const name of rule.names) if (files.includes(name)) return join(path, name);
  const matches = files.filter((f) => rule.extensions.includes(extname(f).toLowerCase()));
  if (matches.length === 1) return join(path, matches[0]!);
  const wanted = [...rule.names, ...rule.extensions.map((e) => `*${e}`)].join(', ');
  if (matches.length === 0) throw new InferdError('not_found', `no model file (${wanted}) in ${path}`);
  throw new InferdError('invalid_input', `several model files in ${path} (${matches.sort().join(', ')}); name one in storageUri or call it ${rule.names[0]}`);
}
