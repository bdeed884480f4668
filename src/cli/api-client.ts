import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';

/** A small client of inferd's admin API for CLI commands. */
export interface ClientOptions {
  server?: string;
  /** API key or OIDC token (else INFERD_TOKEN, else `<data-dir>/admin.key`). */
  token?: string;
  /** Where `admin.key` is (else INFERD_DATA_DIR, else `.inferd`). */
  dataDir?: string;
}

export function serverUrl(opts: ClientOptions): string {
  return (opts.server ?? process.env.INFERD_SERVER ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
}

/** The credential the CLI sends: --token, INFERD_TOKEN, or the bootstrap key the local server wrote. */
export function clientToken(opts: ClientOptions): string | undefined {
  const explicit = opts.token ?? process.env.INFERD_TOKEN;
  if (explicit) return explicit.trim();
  const dir = opts.dataDir ?? process.env.INFERD_DATA_DIR ?? '.inferd';
  try {
    return readFileSync(join(dir, 'admin.key'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Adds --token and --data-dir to every command (and subcommand) that has --server. */
export function addClientAuthOptions(cmd: Command): void {
  for (const c of cmd.commands) {
    if (c.options.some((o) => o.long === '--server')) {
      c.option('--token <token>', 'API key or OIDC token (or INFERD_TOKEN; default: <data-dir>/admin.key)');
      c.option('--data-dir <dir>', 'where admin.key is (or INFERD_DATA_DIR; default .inferd)');
    }
    addClientAuthOptions(c);
  }
}

export async function apiRequest(opts: ClientOptions, method: string, path: string, body?: string, contentType = 'application/yaml'): Promise<unknown> {
  const url = `${serverUrl(opts)}${path}`;
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = contentType;
  const token = clientToken(opts);
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
  } catch (err) {
    throw new Error(`cannot reach inferd at ${serverUrl(opts)} (${(err as Error).cause ?? (err as Error).message}); is it running? Set --server or INFERD_SERVER.`);
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Non-JSON answers are shown as they are.
  }
  if (!res.ok) {
    const message = typeof parsed === 'object' && parsed !== null && 'error' in parsed ? String((parsed as { error: unknown }).error) : text;
    const hint = res.status === 401 ? ' (pass --token, set INFERD_TOKEN, or --data-dir where the server wrote admin.key)' : '';
    throw new Error(`${res.status}: ${message}${hint}`);
  }
  return parsed;
}
