import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { InferdError } from '../api/errors.js';

export interface StorageConfig {
  /** `pvc://NAME/...` roots: claim name → local directory. */
  pvcs: Record<string, string>;
}

export interface ResolveOptions {
  /** Directory of the manifest the URI came from, for relative `file://` paths. */
  baseDir: string;
}

/** Resolves a storageUri to a local path (file or directory). Remote schemes come with the control plane. */
export async function resolveStorageUri(uri: string, config: StorageConfig, options: ResolveOptions): Promise<string> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === 'file') {
    const rest = scheme ? uri.slice('file://'.length) : uri;
    const path = decodeURIComponent(rest);
    return isAbsolute(path) ? resolve(path) : resolve(options.baseDir, path);
  }
  if (scheme === 'pvc') {
    const rest = uri.slice('pvc://'.length);
    const slash = rest.indexOf('/');
    const claim = slash < 0 ? rest : rest.slice(0, slash);
    const sub = slash < 0 ? '' : decodeURIComponent(rest.slice(slash + 1));
    const root = config.pvcs[claim];
    if (root === undefined) {
      throw new InferdError('invalid_input', `storageUri ${uri}: no PVC named "${claim}" is mapped in inferd's config (storage.pvcs)`, { field: 'storageUri' });
    }
    return confine(root, sub, uri);
  }
  throw new InferdError('invalid_input', `storageUri ${uri}: scheme "${scheme}" is not supported (use file:// or pvc://)`, { field: 'storageUri' });
}

/** Joins `sub` under `root`, refusing any path (.., absolute, or symlink) that leaves it. */
async function confine(root: string, sub: string, uri: string): Promise<string> {
  const escape = () => new InferdError('invalid_input', `storageUri ${uri}: path leaves the PVC's root`, { field: 'storageUri' });
  if (isAbsolute(sub)) throw escape();
  const rootAbs = resolve(root);
  const target = resolve(rootAbs, sub);
  if (!inside(rootAbs, target)) throw escape();
  const [realRoot, realTarget] = await Promise.all([realpath(rootAbs).catch(() => rootAbs), realpath(target).catch(() => target)]);
  if (!inside(realRoot, realTarget)) throw escape();
  return target;
}

function inside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}
