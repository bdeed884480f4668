import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { InferdError } from '../api/errors.js';
import { HttpStatusError, type OpenedBody } from './download.js';

export interface HttpValidators {
  etag?: string;
  lastModified?: string;
  length?: number;
  acceptRanges: boolean;
}

/** The file name a URL's path ends in (`model` when it names none). */
export function fileNameOf(url: URL): string {
  const last = url.pathname.split('/').filter(Boolean).pop() ?? '';
  let name: string;
  try {
    name = decodeURIComponent(last);
  } catch {
    name = last;
  }
  return name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name) ? 'model' : name;
}

/** A URL without credentials, query or fragment: safe in messages and logs. */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`;
}

function statusError(res: Response, display: string): Error {
  if (res.status === 404 || res.status === 410) return new InferdError('not_found', `storageUri ${display}: HTTP ${res.status}`, { field: 'storageUri' });
  if (res.status === 401) return new InferdError('unauthenticated', `storageUri ${display}: HTTP 401`, { field: 'storageUri' });
  if (res.status === 403) return new InferdError('forbidden', `storageUri ${display}: HTTP 403`, { field: 'storageUri' });
  const err = new HttpStatusError(res.status, `HTTP ${res.status}`);
  if (err.status >= 500 || err.status === 408 || err.status === 429) return err;
  return new InferdError('invalid_input', `storageUri ${display}: HTTP ${res.status}`, { field: 'storageUri' });
}

/** HEAD for the validators the cache key uses; a server that refuses HEAD gives none. */
export async function probeHttp(url: URL, display: string, timeoutMs: number, signal?: AbortSignal, extraHeaders: Record<string, string> = {}): Promise<HttpValidators> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const res = await fetch(url, { method: 'HEAD', redirect: 'follow', signal: signal ? AbortSignal.any([signal, timeout]) : timeout, headers: { 'accept-encoding': 'identity', ...extraHeaders } });
  if (res.status === 405 || res.status === 501) return { acceptRanges: false };
  if (!res.ok) throw statusError(res, display);
  const v: HttpValidators = { acceptRanges: /bytes/i.test(res.headers.get('accept-ranges') ?? '') };
  const etag = res.headers.get('etag');
  if (etag) v.etag = etag;
  const lm = res.headers.get('last-modified');
  if (lm) v.lastModified = lm;
  const len = res.headers.get('content-length');
  if (len !== null && /^\d+$/.test(len)) v.length = Number(len);
  return v;
}

/** Opens the URL from byte `start`; resumes only while the content is the probed one (If-Range). */
export function httpOpener(url: URL, display: string, validators: HttpValidators, extraHeaders: Record<string, string> = {}) {
  return async (start: number, signal: AbortSignal): Promise<OpenedBody> => {
    const headers: Record<string, string> = { 'accept-encoding': 'identity', ...extraHeaders };
    const validator = validators.etag && !validators.etag.startsWith('W/') ? validators.etag : validators.lastModified;
    if (start > 0) {
      headers.range = `bytes=${start}-`;
      if (validator) headers['if-range'] = validator;
    }
    const res = await fetch(url, { redirect: 'follow', signal, headers });
    const etag = res.headers.get('etag');
    if (res.ok && validators.etag && etag && etag !== validators.etag) {
      await res.body?.cancel().catch(() => undefined);
      throw new InferdError('conflict', `storageUri ${display}: the file changed during the download; deploy again`, { field: 'storageUri' });
    }
    if (res.status === 416 && start > 0) {
      // Nothing left to send: the bytes on disk are all there is.
      const total = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1];
      await res.body?.cancel().catch(() => undefined);
      if (total !== undefined && Number(total) === start) return { body: Readable.from([]), start, total: start };
      throw new HttpStatusError(500, 'range not satisfiable');
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw statusError(res, display);
    }
    const body = res.body ? Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>) : Readable.from([]);
    const len = res.headers.get('content-length');
    if (res.status === 206) {
      const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (!m) {
        body.destroy();
        throw new HttpStatusError(502, '206 without a usable Content-Range');
      }
      return { body, start: Number(m[1]), ...(m[2] !== '*' ? { total: Number(m[2]) } : {}) };
    }
    return { body, start: 0, ...(len !== null && /^\d+$/.test(len) ? { total: Number(len) } : {}) };
  };
}
