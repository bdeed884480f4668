import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Names of the files directly in `dir`, following symlinks: a Kubernetes ConfigMap or
 * Secret volume is made of symlinks (`model.yaml -> ..data/model.yaml`). Hidden entries
 * (`..data`, `..2024_...`) are left out.
 */
export async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = await Promise.all(
    entries.map(async (e) => {
      if (e.name.startsWith('.')) return undefined;
      if (e.isFile()) return e.name;
      if (!e.isSymbolicLink()) return undefined;
      const target = await stat(join(dir, e.name)).catch(() => undefined);
      return target?.isFile() ? e.name : undefined;
    }),
  );
  return names.filter((n): n is string => n !== undefined);
}
