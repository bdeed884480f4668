import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { InferdError, quote } from '../api/errors.js';
import type { Container, EnvVar } from '../api/resources/common.js';
import { LEGACY_FRAMEWORKS } from '../api/resources/inference-service.js';
import type { Resource } from '../api/resources/manifest.js';
import { MODULE_ANNOTATION } from '../api/resources/serving-runtime.js';
import type { RuntimesConfig } from '../config/config.js';
import { insideRoot } from '../storage/inside-root.js';

/**
 * Who may make inferd run a command or import a module (docs/security.md, "Runtime
 * policy"). Commands and modules run as the server's user, so they are the operator's
 * decision: the operator's manifests (`inferd serve -f`) and `admin` callers may use any;
 * everyone else only commands that start with an entry of `runtimes.allowCommands` and
 * modules whose real path lies inside `runtimes.moduleRoots`.
 */
export type ApplyTrust = 'operator' | 'admin' | 'tenant';

/**
 * Set by the server (never taken from a body) on a resource that runs a command or
 * module and was applied by the operator or an admin: the reconciler re-checks every
 * other one against the allow-lists at load time, so narrowing them takes effect.
 */
export const TRUSTED_ANNOTATION = 'inferd.dev/trusted-by';

/**
 * Env a tenant may not set on a model: each decides what program runs or what code a
 * program loads (the vLLM command, the executable search path, preloaded libraries,
 * interpreter start-up code).
 */
const EXEC_ENV = /^(VLLM_COMMAND|PATH|LD_\w+|DYLD_\w+|PYTHON(PATH|STARTUP|HOME|USERBASE|INSPECT)|NODE_(OPTIONS|PATH)|BASH_ENV|ENV|PERL5(LIB|OPT)|RUBYOPT|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS)$/;
/** Args that make a model server run code shipped with the model files. */
const EXEC_ARG = /^--trust[-_]remote[-_]code(=|$)/;

function forbidden(what: string, message: string): InferdError {
  return new InferdError('forbidden', `${what}: ${message}`);
}

function realOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

export class RuntimePolicy {
  private readonly prefixes: string[][];

  constructor(private readonly config: RuntimesConfig) {
    this.prefixes = config.allowCommands.map((c) => c.trim().split(/\s+/)).filter((p) => p.length > 0 && p[0] !== '');
  }

  /** Whether `argv` starts with one of the operator's allowed command prefixes. */
  commandAllowed(argv: readonly string[]): boolean {
    return this.prefixes.some((p) => p.length <= argv.length && p.every((tok, i) => argv[i] === tok));
  }

  /** The module's real path when it lies inside a module root; throws otherwise. */
  checkModule(what: string, modulePath: string, baseDir: string): string {
    const lexical = resolve(baseDir, modulePath);
    const roots = this.config.moduleRoots.map((r) => realOrNull(r) ?? resolve(r));
    const rule = `module ${quote(modulePath)} needs the admin role or a runtimes.moduleRoots entry that holds it`;
    if (roots.length === 0) throw forbidden(what, rule);
    // A symlink inside a root may point outside it: the real path decides.
    const real = realOrNull(lexical);
    if (real === null) throw forbidden(what, `${rule} (it does not exist)`);
    if (!roots.some((r) => insideRoot(r, real))) throw forbidden(what, rule);
    return real;
  }

  checkCommand(what: string, argv: readonly string[]): void {
    if (!this.commandAllowed(argv)) throw forbidden(what, `container command ${quote(argv[0] ?? '')} needs the admin role or a runtimes.allowCommands entry`);
  }

  /** Env and args a tenant-applied model spec or container may not carry. */
  checkEnvAndArgs(what: string, env: readonly EnvVar[] | undefined, args: readonly string[] | undefined): void {
    for (const e of env ?? []) {
      if (e.name === 'VLLM_COMMAND' && e.value !== undefined) {
        this.checkCommand(what, e.value.trim().split(/\s+/));
        continue;
      }
      if (EXEC_ENV.test(e.name)) throw forbidden(what, `env ${quote(e.name)} chooses the program or code a model server runs and needs the admin role`);
    }
    for (const a of args ?? []) if (EXEC_ARG.test(a)) throw forbidden(what, `arg ${quote(a.split('=')[0]!)} runs code from the model files and needs the admin role`);
  }

  /**
   * Apply time: throws `forbidden` naming the rule when a tenant's resource carries a
   * command, a module or exec env the allow-lists do not permit.
   */
  checkApply(resource: Resource, trust: ApplyTrust, baseDir: string): void {
    if (trust !== 'tenant') return;
    const what = `${resource.kind} ${quote(resource.metadata.name)}`;
    if (resource.kind === 'ClusterServingRuntime') throw forbidden(what, 'cluster-scoped runtimes need the admin role');
    if (resource.kind === 'InferenceService') {
      const { predictor, transformer, canary } = resource.spec;
      const components = [predictor, ...(transformer ? [transformer] : []), ...(canary ?? []).map((c) => c.predictor)];
      for (const c of components) {
        this.checkContainers(what, c.containers);
        const legacy = c as Partial<Record<(typeof LEGACY_FRAMEWORKS)[number], Container>> & { model?: Container };
        for (const m of [legacy.model, ...LEGACY_FRAMEWORKS.map((f) => legacy[f])]) if (m) this.checkContainers(what, [m]);
      }
      const explainer = resource.spec.explainer;
      if (explainer && JSON.stringify(explainer).includes('"command"')) throw forbidden(what, 'explainer containers with a command need the admin role');
      return;
    }
    const modulePath = resource.metadata.annotations?.[MODULE_ANNOTATION];
    if (modulePath !== undefined) this.checkModule(what, modulePath, baseDir);
    this.checkContainers(what, resource.spec.containers);
  }

  /** A container's command, workingDir, env and args, as a tenant gave them. */
  checkContainers(what: string, containers: readonly Container[] | undefined): void {
    for (const c of containers ?? []) {
      if (c.command?.length) this.checkCommand(what, c.command);
      // An allowed `python3 -m srv` imports `srv` from its working directory first.
      if (c.workingDir !== undefined) throw forbidden(what, 'container workingDir needs the admin role');
      this.checkEnvAndArgs(what, c.env, c.args);
    }
  }
}

/**
 * Whether a stored resource was applied by the operator or an admin. Only the server's own
 * mark counts (a label or annotation from a body never does); built-in runtimes need none,
 * as they carry no command, module or env.
 */
export function isTrusted(resource: { metadata: { annotations?: Record<string, string> | undefined } }): boolean {
  const by = resource.metadata.annotations?.[TRUSTED_ANNOTATION];
  return by === 'operator' || by === 'admin';
}

/** Whether a resource carries anything this policy governs (so it gets the trust mark). */
export function runsCode(resource: Resource): boolean {
  if (resource.kind !== 'InferenceService' && resource.metadata.annotations?.[MODULE_ANNOTATION] !== undefined) return true;
  // Serialized JSON quotes keys as `"key":`; inside a string value the quotes are escaped.
  const spec = JSON.stringify(resource.spec);
  return /"(command|env|args)":\[[^\]]/.test(spec) || spec.includes('"workingDir":');
}
