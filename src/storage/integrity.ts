import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { InferdError } from '../api/errors.js';
import type { InferenceService, PredictorSpec } from '../api/resources/inference-service.js';

/** InferenceService annotation holding the expected sha256 of the model (see docs/storage.md). */
export const SHA256_ANNOTATION = 'inferd.dev/sha256';
/** Key in `spec.predictor.model.storage.parameters` holding the expected sha256. */
export const SHA256_PARAMETER = 'sha256';

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * The expected digest of a predictor's model, from its `storage.parameters.sha256`, else the
 * InferenceService's `inferd.dev/sha256` annotation. The annotation names one model, so it
 * applies only to a predictor whose storageUri is the one in the current `spec.predictor`
 * (canary entries and older revisions with another URI carry their own parameter).
 * Accepts an optional `sha256:` prefix; a malformed value is refused here, before any download.
 */
export function integrityOf(isvc: InferenceService, predictor: PredictorSpec = isvc.spec.predictor): { sha256?: string } {
  const model = predictor.model;
  const fromParam = model?.storage?.parameters?.[SHA256_PARAMETER];
  if (fromParam !== undefined) return { sha256: parseSha256(fromParam, `spec.predictor.model.storage.parameters.${SHA256_PARAMETER}`) };
  const annotation = isvc.metadata.annotations?.[SHA256_ANNOTATION];
  if (annotation === undefined) return {};
  const current = isvc.spec.predictor.model?.storageUri;
  if (predictor !== isvc.spec.predictor && model?.storageUri !== current) return {};
  return { sha256: parseSha256(annotation, `metadata.annotations["${SHA256_ANNOTATION}"]`) };
}

/** Normalizes a digest (`sha256:` prefix and case allowed) or refuses it. */
export function parseSha256(value: string, field = 'sha256'): string {
  const hex = value.trim().toLowerCase().replace(/^sha256:/, '');
  if (!HEX64.test(hex)) throw new InferdError('invalid_input', `${field}: "${value}" is not a sha256 digest (64 hex digits)`, { field });
  return hex;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Regular files under `dir`, as sorted POSIX-style relative paths (byte order, as `LC_ALL=C sort`). */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  await walk(dir);
  return out.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

export interface Digests {
  /** sha256 of the file itself, or of the directory's manifest (see `manifestDigest`). */
  digest: string;
  /** For a directory holding exactly one file: that file's sha256 (also accepted). */
  singleFile?: string;
  files: Array<{ path: string; size: number; sha256: string }>;
}

/**
 * A directory's digest is the sha256 of its manifest: one line per regular file, sorted by
 * path, `<sha256 hex>  <relative path>\n` — exactly what
 * `find . -type f -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum` prints.
 */
export function manifestDigest(files: ReadonlyArray<{ path: string; sha256: string }>): string {
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f.sha256}  ${f.path}\n`);
  return hash.digest('hex');
}

/** Digests of a local file or directory. */
export async function digestsOf(path: string): Promise<Digests> {
  const info = await stat(path);
  if (info.isFile()) {
    const sha = await sha256File(path);
    return { digest: sha, singleFile: sha, files: [{ path: '', size: info.size, sha256: sha }] };
  }
  const files: Digests['files'] = [];
  for (const rel of await listFiles(path)) {
    const abs = join(path, ...rel.split('/'));
    files.push({ path: rel, size: (await stat(abs)).size, sha256: await sha256File(abs) });
  }
  const result: Digests = { digest: manifestDigest(files), files };
  if (files.length === 1) result.singleFile = files[0]!.sha256;
  return result;
}

/** True when `expected` names this content: its digest, or the single file's digest. */
export function matches(d: Pick<Digests, 'digest' | 'singleFile'>, expected: string): boolean {
  return d.digest === expected || d.singleFile === expected;
}

export function mismatchError(what: string, expected: string, d: Pick<Digests, 'digest' | 'singleFile'>): InferdError {
  const actual = d.singleFile !== undefined && d.singleFile !== d.digest ? `${d.singleFile} (file) / ${d.digest} (directory manifest)` : d.digest;
  return new InferdError('invalid_input', `${what}: sha256 mismatch: expected ${expected}, actual ${actual}; the model is not loaded`, { field: 'sha256' });
}

/** Checks a local path against an expected digest (file:// and pvc:// models). */
export async function verifyLocal(path: string, expected: string, what: string): Promise<void> {
  const d = await digestsOf(path).catch((err: NodeJS.ErrnoException) => {
    throw new InferdError('not_found', `${what}: cannot read ${path} to check its sha256 (${err.code ?? err.message})`);
  });
  if (!matches(d, expected)) throw mismatchError(what, expected, d);
}
