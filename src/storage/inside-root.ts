import { isAbsolute, relative, sep } from 'node:path';

/**
 * Whether `path` is `root` or lies below it, both absolute and already resolved (callers
 * that must not follow symlinks out of a root compare real paths). The one confinement check
 * of storage roots, payload-logger sinks and runtime module roots.
 */
export function insideRoot(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
