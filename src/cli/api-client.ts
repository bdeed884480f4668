/** A small client of inferd's admin API for CLI commands. */
export interface ClientOptions {
  server?: string;
}

export function serverUrl(opts: ClientOptions): string {
  return (opts.server ?? process.env.INFERD_SERVER ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
}

export async function apiRequest(opts: ClientOptions, method: string, path: string, body?: string): Promise<unknown> {
  const url = `${serverUrl(opts)}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { method, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/yaml' } }) });
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
    throw new Error(`${res.status}: ${message}`);
  }
  return parsed;
}
