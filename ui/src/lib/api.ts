import { loadToken } from './session';

/** An API failure with the server's message and a sentence saying what to do next. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly hint: string, readonly field?: string) {
    super(message);
  }
}

/** What a user can do about each status; the server's own message says what went wrong. */
export function hintFor(status: number): string {
  switch (status) {
    case 0: return 'The server could not be reached: check that inferd is running and reload the page.';
    case 400: return 'Correct the field named in the message and try again.';
    case 401: return 'Your credential was refused or has expired: sign out and sign in with a valid key or token.';
    case 403: return 'Your role does not allow this: ask an admin for a key with the needed role or namespace.';
    case 404: return 'It does not exist or is in a namespace you cannot see: check the name and namespace.';
    case 409: return 'Someone changed it meanwhile: reload and apply again.';
    case 413: return 'The request is too large: send less data.';
    case 429: return 'Too many requests: wait a moment and retry.';
    case 503: return 'The model is not ready yet: wait until it is Ready and retry.';
    case 504: return 'The request timed out: retry, or raise the predictor timeout.';
    default: return status >= 500 ? 'The server failed: retry, and check the inferd log if it persists.' : 'Check the request and try again.';
  }
}

/** "… field spec.predictor.model.storageUri: …" → "spec.predictor.model.storageUri" (how inferd names a field). */
export function fieldOf(message: string): string | undefined {
  return /field ([A-Za-z0-9_.[\]-]+):/.exec(message)?.[1];
}

export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const token = loadToken();
  return token ? { authorization: `Bearer ${token}`, ...extra } : extra;
}

/** fetch() with the credential; non-2xx answers throw ApiError. */
export async function request(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: authHeaders(init.headers ?? {}) });
  } catch {
    throw new ApiError(0, 'network error', hintFor(0));
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    let message = text || res.statusText;
    try {
      const body = JSON.parse(text) as { error?: unknown };
      if (typeof body.error === 'string') message = body.error;
      else if (body.error && typeof body.error === 'object' && 'message' in body.error) message = String((body.error as { message: unknown }).message);
    } catch {
      // not JSON: keep the text
    }
    throw new ApiError(res.status, message, hintFor(res.status), fieldOf(message));
  }
  return res;
}

export async function getJson<T>(path: string, headers: Record<string, string> = {}): Promise<T> {
  return (await request(path, { headers })).json() as Promise<T>;
}

export async function sendJson<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await request(path, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return (text ? JSON.parse(text) : {}) as T;
}

export const ISVC = '/apis/serving.kserve.io/v1beta1';
export const INFERD = '/apis/inferd.dev/v1';
export const isvcPath = (ns: string, name: string) => `${ISVC}/namespaces/${encodeURIComponent(ns)}/inferenceservices/${encodeURIComponent(name)}`;
export const inferdIsvcPath = (ns: string, name: string) => `${INFERD}/namespaces/${encodeURIComponent(ns)}/inferenceservices/${encodeURIComponent(name)}`;
