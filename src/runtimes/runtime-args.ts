/**
 * Reads `--key=value` and `--key value` flags from ServingRuntime/predictor args.
 * Later flags win, so a predictor's args override its runtime's. Keys are
 * normalized so `--intra-op-threads` and `--intra_op_threads` are one flag.
 */
export function parseRuntimeArgs(args: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) continue;
    const eq = arg.indexOf('=');
    if (eq > 0) {
      flags.set(normalize(arg.slice(2, eq)), arg.slice(eq + 1));
    } else {
      const next = args[i + 1];
      const hasValue = next !== undefined && !next.startsWith('--');
      flags.set(normalize(arg.slice(2)), hasValue ? next : 'true');
      if (hasValue) i++;
    }
  }
  return flags;
}

function normalize(key: string): string {
  return key.replace(/-/g, '_').toLowerCase();
}

/** A positive integer flag, or undefined; anything else is a configuration error. */
export function intFlag(flags: Map<string, string>, key: string): number | undefined {
  const raw = flags.get(key);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`runtime arg --${key} must be a non-negative integer, got "${raw}"`);
  return n;
}
