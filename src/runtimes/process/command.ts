import { statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * How a ServingRuntime container becomes a local command line. Pure functions, so
 * the rules (docs/runtimes/external-process.md) are testable without a process.
 *
 * Ports: inferd picks a free loopback port P for each start and
 *  - replaces `{{.Port}}` in args and env values with P,
 *  - sets env `PORT=P` (over any PORT the container sets),
 *  - rewrites the value of the port flags KServe's model servers use, `--http_port`,
 *    `--http-port` and `--port` (`--flag=N` or `--flag N`), to P.
 * Host: env `HOST=127.0.0.1` (over any HOST the container sets) and the value of
 * `--host`, `--http_host`, `--http-host`, `--bind`, `--address` and `--listen` becomes
 * 127.0.0.1, so no process inferd starts listens beside inferd's own authentication.
 * A second free port G replaces `{{.GrpcPort}}` and the value of `--grpc_port` /
 * `--grpc-port`, so a KServe Python server does not try to bind 8081 (inferd's own gRPC
 * port by default). inferd talks to the process over HTTP on P only.
 *
 * Model directory: KServe mounts the model at `/mnt/models`; every `/mnt/models` in
 * args and env values becomes the local model directory (the resolved storage path,
 * or its parent directory when the storage URI named a single file, so
 * `/mnt/models/<file>` still names it).
 */

export const MODEL_MOUNT = '/mnt/models';

const HTTP_PORT_FLAGS = ['--http_port', '--http-port', '--port'];
/** Flags that choose the listen address: always loopback, whoever set them (docs/security.md). */
const HOST_FLAGS = ['--host', '--http_host', '--http-host', '--bind', '--address', '--listen'];
export const LOOPBACK = '127.0.0.1';
const GRPC_PORT_FLAGS = ['--grpc_port', '--grpc-port'];

export interface CommandTemplate {
  /** `command` followed by `args` (runtime container args, then the predictor's), `{{.Name}}` already expanded. */
  argv: string[];
  env: Record<string, string>;
}

export interface Ports {
  http: number;
  grpc: number;
}

/** The directory that `/mnt/models` stands for. */
export function modelDirOf(path: string): string {
  try {
    return statSync(path).isDirectory() ? path : dirname(path);
  } catch {
    return path;
  }
}

function mapModelMount(text: string, modelDir: string): string {
  return text.replace(/\/mnt\/models(?=$|[/\s"',:;=])/g, modelDir);
}

function expandPorts(text: string, ports: Ports): string {
  return text.replace(/\{\{\s*\.Port\s*\}\}/g, String(ports.http)).replace(/\{\{\s*\.GrpcPort\s*\}\}/g, String(ports.grpc));
}

/** The concrete argv and env for one start of the process. */
export function materialize(template: CommandTemplate, modelDir: string, ports: Ports): { argv: string[]; env: Record<string, string> } {
  const out: string[] = [];
  const argv = template.argv.map((a) => expandPorts(mapModelMount(a, modelDir), ports));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    // Only args after the program name are flags.
    if (i > 0 && HOST_FLAGS.includes(flag)) {
      // `--bind 0.0.0.0:8080` (gunicorn) names the port too: loopback and inferd's port.
      const value = eq > 0 ? arg.slice(eq + 1) : argv[i + 1];
      const host = value !== undefined && /:\d+$/.test(value) ? `${LOOPBACK}:${ports.http}` : LOOPBACK;
      if (eq > 0) out.push(`${flag}=${host}`);
      else if (value !== undefined && !value.startsWith('-')) {
        out.push(arg, host);
        i++;
      } else out.push(arg); // no value: a boolean flag of this server, not an address
      continue;
    }
    const port = i === 0 ? undefined : HTTP_PORT_FLAGS.includes(flag) ? ports.http : GRPC_PORT_FLAGS.includes(flag) ? ports.grpc : undefined;
    if (port === undefined) {
      out.push(arg);
    } else if (eq > 0) {
      out.push(`${flag}=${port}`);
    } else if (i + 1 < argv.length && /^\d+$/.test(argv[i + 1]!)) {
      out.push(arg, String(port));
      i++;
    } else {
      out.push(arg);
    }
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(template.env)) env[k] = expandPorts(mapModelMount(v, modelDir), ports);
  env.PORT = String(ports.http);
  env.HOST = LOOPBACK;
  return { argv: out, env };
}

/**
 * inferd's own environment minus what looks like a credential: the process gets PATH,
 * HOME, locale, virtualenv and CUDA settings, but not inferd's storage or API secrets.
 * Anything it needs beyond that is set in the container's `env`.
 */
const SECRET_ENV = /^(AWS_|INFERD_|AZURE_|GOOGLE_APPLICATION_CREDENTIALS$)|SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|API_KEY|APIKEY|ACCESS_KEY|PRIVATE_KEY/i;

export function inheritedEnv(source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined && !SECRET_ENV.test(k) && !k.startsWith('NODE_TEST')) env[k] = v;
  return env;
}

/** A command line for messages: quoted where needed, bounded. */
export function describeCommand(argv: readonly string[]): string {
  const text = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
