/**
 * KServe's payload logger (`spec.predictor.logger`): inference requests and/or responses
 * of one InferenceService sent as CloudEvents (binary mode, types
 * `org.kubeflow.serving.inference.request|response`) to `url`, or appended as JSON lines
 * to a file (`url: file:///path`). Off unless an InferenceService asks for it.
 *
 * Bodies are cut to `maxBytes`; JSON bodies have the values of secret-looking keys
 * replaced; non-JSON bodies (the binary tensor extension) are described, not copied.
 * Headers are never logged. Sending is fire-and-forget with a bounded number of
 * events in flight: beyond it events are dropped and counted.
 */
import { constants } from 'node:fs';
import { appendFile, realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Counter } from 'prom-client';
import { insideRoot } from '../storage/inside-root.js';
import type { Logger } from './logger.js';
import type { EndpointRef } from './request-info.js';

export interface LoggerSpec {
  url?: string;
  mode?: 'all' | 'request' | 'response';
  metadataHeaders?: string[];
}

export interface PayloadLoggerOptions {
  maxBytes: number;
  redactKeys: string[];
  maxPending: number;
  timeoutMs: number;
  /** The only directory `file://` sinks may write under; unset: http(s) sinks only. */
  fileRoot?: string | undefined;
}

// A file sink never follows a symlink at its last component (the root check covers the rest).
const APPEND_NOFOLLOW = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

/** KServe's default sink (the Knative broker). */
export const DEFAULT_LOGGER_URL = 'http://default-broker';

interface Target {
  url: string;
  mode: 'all' | 'request' | 'response';
  isvc: string;
  namespace: string;
  metadataHeaders: string[];
}

export class PayloadLogger {
  private readonly targets = new Map<string, Target>();
  private pending = 0;
  private readonly redact: RegExp | undefined;

  constructor(private readonly opts: PayloadLoggerOptions, private readonly log: Logger, private readonly events?: Counter<'outcome'>) {
    const keys = opts.redactKeys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.redact = keys.length ? new RegExp(keys.join('|'), 'i') : undefined;
  }

  get active(): boolean {
    return this.targets.size > 0;
  }

  /** Called when a revision's endpoint is created: its logger spec, if any. */
  register(namespace: string, isvc: string, revisionName: string, spec: LoggerSpec | undefined): void {
    const key = `${namespace}/${revisionName}`;
    if (!spec) {
      this.targets.delete(key);
      return;
    }
    const url = spec.url ?? DEFAULT_LOGGER_URL;
    const refused = this.refusal(url);
    if (refused) {
      this.targets.delete(key);
      this.log.warn({ namespace, isvc }, `payload logger: spec.predictor.logger.url refused: ${refused}`);
      return;
    }
    this.targets.set(key, { url, mode: spec.mode ?? 'all', isvc, namespace, metadataHeaders: (spec.metadataHeaders ?? []).map((h) => h.toLowerCase()) });
  }

  /** Why a sink URL may not be used, or undefined: http(s), or a file under `fileRoot`. */
  refusal(url: string): string | undefined {
    if (/^https?:\/\//i.test(url)) return undefined;
    if (!/^file:/i.test(url)) return 'only http(s):// or file:// sinks';
    if (this.opts.fileRoot === undefined) return 'file:// sinks need observability.payloadLogger.fileRoot';
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch {
      return 'not a valid file:// URL';
    }
    return insideRoot(resolve(this.opts.fileRoot), resolve(path)) ? undefined : 'file:// sinks must lie under observability.payloadLogger.fileRoot';
  }

  unregister(namespace: string, revisionName: string): void {
    this.targets.delete(`${namespace}/${revisionName}`);
  }

  targetFor(ref: EndpointRef): Target | undefined {
    return this.targets.get(`${ref.namespace}/${ref.revisionName}`);
  }

  /** One request/response pair of an endpoint with a logger. */
  capture(target: Target, ref: EndpointRef, id: string, request: unknown, response: unknown, contentType: string | undefined, headers: Record<string, string | string[] | undefined>): void {
    const metadata: Record<string, string> = {};
    for (const h of target.metadataHeaders) {
      // Credentials never leave, even when named.
      if (h === 'authorization' || h === 'cookie' || h === 'x-api-key' || h === 'proxy-authorization') continue;
      const v = headers[h];
      if (typeof v === 'string') metadata[h] = v.slice(0, 256);
    }
    if (target.mode !== 'response') this.emit(target, ref, id, 'request', request, 'application/json', metadata);
    if (target.mode !== 'request') this.emit(target, ref, id, 'response', response, contentType, metadata);
  }

  /** The body as logged: redacted JSON text cut to maxBytes, or a description of bytes that are not JSON. */
  encode(body: unknown): { data: string; truncated: boolean; bytes: number; json: boolean } {
    const buf = typeof body === 'string' ? Buffer.from(body) : Buffer.isBuffer(body) ? body : Buffer.alloc(0);
    let json = false;
    let text: string;
    try {
      const parsed: unknown = JSON.parse(buf.toString('utf8'));
      text = JSON.stringify(this.redactValue(parsed, 0));
      json = true;
    } catch {
      text = `[${buf.length} bytes, not JSON]`;
    }
    const cut = Buffer.byteLength(text) > this.opts.maxBytes;
    return { data: cut ? Buffer.from(text).subarray(0, this.opts.maxBytes).toString('utf8') : text, truncated: cut, bytes: buf.length, json };
  }

  /** Appends under the root as it really is (symlinked directories resolved), never through a final symlink. */
  private async appendConfined(path: string, text: string): Promise<void> {
    const [root, dir] = await Promise.all([realpath(resolve(this.opts.fileRoot ?? '/nonexistent')), realpath(dirname(path))]);
    if (!insideRoot(root, dir)) throw new Error('sink leaves observability.payloadLogger.fileRoot');
    await appendFile(path, text, { flag: APPEND_NOFOLLOW });
  }

  private redactValue(v: unknown, depth: number): unknown {
    if (depth > 64 || typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) return v.map((x) => this.redactValue(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = this.redact?.test(k) ? '[redacted]' : this.redactValue(x, depth + 1);
    return out;
  }

  private emit(target: Target, ref: EndpointRef, id: string, kind: 'request' | 'response', body: unknown, contentType: string | undefined, metadata: Record<string, string>): void {
    if (this.pending >= this.opts.maxPending) {
      this.events?.inc({ outcome: 'dropped' });
      return;
    }
    const enc = this.encode(body);
    const ce = {
      specversion: '1.0',
      id,
      type: `org.kubeflow.serving.inference.${kind}`,
      source: `http://localhost/inferd/${ref.namespace}/${target.isvc}`,
      time: new Date().toISOString(),
      inferenceservicename: target.isvc,
      namespace: ref.namespace,
      component: 'predictor',
      endpoint: ref.revisionName,
    };
    this.pending++;
    const done = (outcome: 'sent' | 'failed', err?: unknown) => {
      this.pending--;
      this.events?.inc({ outcome });
      if (err) this.log.warn({ err: err instanceof Error ? err.message : String(err), url: redactUrl(target.url) }, 'payload logger: event not delivered');
    };
    if (target.url.startsWith('file:')) {
      const line = JSON.stringify({ ...ce, datacontenttype: enc.json ? 'application/json' : 'text/plain', truncated: enc.truncated, bytes: enc.bytes, metadata, data: enc.json && !enc.truncated ? JSON.parse(enc.data) : enc.data });
      this.appendConfined(fileURLToPath(target.url), `${line}\n`).then(() => done('sent'), (err: unknown) => done('failed', err));
      return;
    }
    const headers: Record<string, string> = {
      'content-type': enc.json ? (contentType?.startsWith('application/json') ? contentType : 'application/json') : 'text/plain',
      'ce-specversion': ce.specversion, 'ce-id': ce.id, 'ce-type': ce.type, 'ce-source': ce.source, 'ce-time': ce.time,
      'ce-inferenceservicename': ce.inferenceservicename, 'ce-namespace': ce.namespace, 'ce-component': ce.component, 'ce-endpoint': ce.endpoint,
    };
    if (enc.truncated) headers['ce-truncated'] = 'true';
    for (const [k, v] of Object.entries(metadata)) headers[`ce-${k.replace(/[^a-z0-9]/g, '')}`] = v;
    fetch(target.url, { method: 'POST', headers, body: enc.data, signal: AbortSignal.timeout(this.opts.timeoutMs) }).then(
      async (res) => {
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) done('sent');
        else done('failed', new Error(`HTTP ${res.status}`));
      },
      (err: unknown) => done('failed', err),
    );
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '[invalid url]';
  }
}
