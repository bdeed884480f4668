import { readFile } from 'node:fs/promises';
import { Agent as HttpsAgent } from 'node:https';
import { Agent as HttpAgent } from 'node:http';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { parse as parseYaml } from 'yaml';
import { InferdError } from '../api/errors.js';
import type { OpenedBody } from './download.js';
import { DEFAULT_STORAGE_TIMEOUTS } from './timeouts.js';

/** S3 settings of inferd's config (`storage.s3`). */
export interface S3Config {
  endpoint?: string | undefined;
  region?: string | undefined;
  forcePathStyle?: boolean | undefined;
  verifySsl?: boolean | undefined;
  credentialsFile?: string | undefined;
}

export interface S3Settings {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  verifySsl: boolean;
  caBundle?: string;
  anonymous: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Values that must never appear in a message (keys, tokens). */
  secrets: string[];
}

const truthy = (v: string | undefined) => v !== undefined && ['1', 'true', 'yes'].includes(v.trim().toLowerCase());
const falsy = (v: string | undefined) => v !== undefined && ['0', 'false', 'no'].includes(v.trim().toLowerCase());

/** KServe secret keys and annotations (pkg/credentials/s3) → the env names the storage initializer reads. */
const SECRET_KEYS: Record<string, string> = {
  awsAccessKeyID: 'AWS_ACCESS_KEY_ID',
  awsSecretAccessKey: 'AWS_SECRET_ACCESS_KEY',
  awsSessionToken: 'AWS_SESSION_TOKEN',
  aws_access_key_id: 'AWS_ACCESS_KEY_ID',
  aws_secret_access_key: 'AWS_SECRET_ACCESS_KEY',
  aws_session_token: 'AWS_SESSION_TOKEN',
  'serving.kserve.io/s3-endpoint': 'S3_ENDPOINT',
  'serving.kserve.io/s3-usehttps': 'S3_USE_HTTPS',
  'serving.kserve.io/s3-verifyssl': 'S3_VERIFY_SSL',
  'serving.kserve.io/s3-region': 'AWS_DEFAULT_REGION',
  'serving.kserve.io/s3-useanoncredential': 'awsAnonymousCredential',
  'serving.kserve.io/s3-cabundle': 'AWS_CA_BUNDLE',
  'serving.kserve.io/s3-usevirtualbucket': 'S3_USER_VIRTUAL_BUCKET',
};

/**
 * Reads a credentials file into KServe's env names. Accepted: a Kubernetes Secret manifest
 * (`data` base64 or `stringData`, KServe's s3 annotations), a flat YAML/JSON map (env names or
 * KServe's secret keys), or an AWS shared credentials INI file (profile AWS_PROFILE or default).
 * Errors name the file, never its content.
 */
export async function readCredentialsFile(path: string, profile = 'default'): Promise<Record<string, string>> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new InferdError('invalid_input', `storage.s3.credentialsFile ${path}: ${err.code ?? 'unreadable'}`);
  });
  const out: Record<string, string> = {};
  const put = (k: string, v: unknown) => {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return;
    out[SECRET_KEYS[k] ?? k] = String(v);
  };
  if (/^\s*\[[^\]]+\]\s*$/m.test(text)) {
    let section = '';
    for (const line of text.split(/\r?\n/)) {
      const head = /^\s*\[\s*(?:profile\s+)?([^\]]+?)\s*\]\s*$/.exec(line);
      if (head) section = head[1]!;
      else if (section === profile) {
        const kv = /^\s*([A-Za-z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
        if (kv) put(kv[1]!, kv[2]!);
      }
    }
    return out;
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    throw new InferdError('invalid_input', `storage.s3.credentialsFile ${path}: neither YAML/JSON nor an INI credentials file`);
  }
  if (!doc || typeof doc !== 'object') throw new InferdError('invalid_input', `storage.s3.credentialsFile ${path}: expected a map`);
  const d = doc as Record<string, unknown>;
  if (d.kind === 'Secret') {
    const annotations = ((d.metadata as Record<string, unknown> | undefined)?.annotations ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(annotations)) if (k.startsWith('serving.kserve.io/s3-')) put(k, v);
    for (const [k, v] of Object.entries((d.data ?? {}) as Record<string, unknown>)) if (typeof v === 'string') put(k, Buffer.from(v, 'base64').toString('utf8'));
    for (const [k, v] of Object.entries((d.stringData ?? {}) as Record<string, unknown>)) put(k, v);
  } else {
    for (const [k, v] of Object.entries(d)) put(k, v);
  }
  return out;
}

/**
 * S3 settings, first found wins: the model's env (InferenceService/ServingRuntime), inferd's
 * config (`storage.s3`), the credentials file, inferd's own environment. Env names as KServe:
 * AWS_ENDPOINT_URL or S3_ENDPOINT (+ S3_USE_HTTPS), AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN), S3_VERIFY_SSL, AWS_CA_BUNDLE,
 * awsAnonymousCredential, S3_USER_VIRTUAL_BUCKET.
 */
export async function s3Settings(config: S3Config | undefined, modelEnv: Record<string, string> = {}, processEnv: NodeJS.ProcessEnv = process.env): Promise<S3Settings> {
  const fileEnv = config?.credentialsFile ? await readCredentialsFile(config.credentialsFile, modelEnv.AWS_PROFILE ?? processEnv.AWS_PROFILE ?? 'default') : {};
  const layers: Array<Record<string, string | undefined>> = [modelEnv, fileEnv, processEnv];
  const get = (name: string) => {
    for (const l of layers) {
      const v = l[name];
      if (v !== undefined && v !== '') return v;
    }
    return undefined;
  };
  // Endpoint: model env, then config, then file/process env.
  const envEndpoint = (l: Record<string, string | undefined>) => l.AWS_ENDPOINT_URL || l.S3_ENDPOINT || undefined;
  const operatorEndpoint = config?.endpoint ?? envEndpoint(fileEnv) ?? envEndpoint(processEnv);
  const tenantEndpoint = envEndpoint(modelEnv);
  let endpoint = tenantEndpoint ?? operatorEndpoint;
  // The operator's keys sign requests only to the operator's endpoint: a model that names its
  // own endpoint brings its own keys (its env) or goes anonymous.
  const ownEndpoint = tenantEndpoint !== undefined && normalEndpoint(tenantEndpoint) !== (operatorEndpoint && normalEndpoint(operatorEndpoint));
  const keyLayers = ownEndpoint ? [modelEnv] : layers;
  if (endpoint && !/^https?:\/\//i.test(endpoint)) endpoint = `${falsy(get('S3_USE_HTTPS')) ? 'http' : 'https'}://${endpoint}`;
  const region = modelEnv.AWS_DEFAULT_REGION || config?.region || get('AWS_DEFAULT_REGION') || 'us-east-1';
  const virtual = truthy(get('S3_USER_VIRTUAL_BUCKET'));
  const forcePathStyle = config?.forcePathStyle ?? (virtual ? false : endpoint !== undefined);
  const verifySsl = falsy(modelEnv.S3_VERIFY_SSL) ? false : (config?.verifySsl ?? !falsy(get('S3_VERIFY_SSL')));
  const settings: S3Settings = { region, forcePathStyle, verifySsl, anonymous: truthy(get('awsAnonymousCredential')), secrets: [] };
  if (ownEndpoint && !(modelEnv.AWS_ACCESS_KEY_ID && modelEnv.AWS_SECRET_ACCESS_KEY)) settings.anonymous = true;
  if (endpoint) settings.endpoint = endpoint;
  const ca = get('AWS_CA_BUNDLE');
  if (ca) settings.caBundle = ca;
  // Keys come as a pair from one layer, never mixed across sources.
  for (const l of keyLayers) {
    const id = l.AWS_ACCESS_KEY_ID;
    const secret = l.AWS_SECRET_ACCESS_KEY;
    if (id && secret) {
      settings.credentials = { accessKeyId: id, secretAccessKey: secret };
      if (l.AWS_SESSION_TOKEN) settings.credentials.sessionToken = l.AWS_SESSION_TOKEN;
      break;
    }
  }
  for (const l of layers) for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) if (l[k]) settings.secrets.push(l[k]!);
  return settings;
}

/** Scheme-less and trailing-slash forms of one endpoint compare equal. */
function normalEndpoint(endpoint: string): string {
  return endpoint.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

/** Connect and idle (no bytes) bounds of every S3 request, in ms. */
export interface S3Timeouts {
  connectMs: number;
  idleMs: number;
}

export async function s3Client(s: S3Settings, timeouts: S3Timeouts = { connectMs: DEFAULT_STORAGE_TIMEOUTS.connectSeconds * 1000, idleMs: DEFAULT_STORAGE_TIMEOUTS.idleSeconds * 1000 }): Promise<S3Client> {
  const cfg: S3ClientConfig = { region: s.region, forcePathStyle: s.forcePathStyle, maxAttempts: 3 };
  if (s.endpoint) cfg.endpoint = s.endpoint;
  if (s.anonymous) cfg.signer = { sign: async (request) => request };
  else if (s.credentials) cfg.credentials = s.credentials;
  const ca = s.caBundle ? await readFile(s.caBundle).catch(() => undefined) : undefined;
  cfg.requestHandler = {
    connectionTimeout: timeouts.connectMs,
    requestTimeout: timeouts.idleMs,
    httpAgent: new HttpAgent({ keepAlive: true }),
    httpsAgent: new HttpsAgent({ keepAlive: true, rejectUnauthorized: s.verifySsl, ...(ca ? { ca } : {}) }),
  };
  return new S3Client(cfg);
}

export interface S3Location {
  bucket: string;
  /** Key or key prefix, without a leading slash. */
  path: string;
}

export function parseS3Uri(uri: string): S3Location {
  const m = /^s3:\/\/([^/?#]+)\/?([^?#]*)$/i.exec(uri);
  if (!m) throw new InferdError('invalid_input', `storageUri ${uri}: expected s3://BUCKET/PATH`, { field: 'storageUri' });
  return { bucket: m[1]!, path: decodeURIComponent(m[2]!) };
}

export interface S3Object {
  key: string;
  /** Path under the model directory (prefix stripped); a single object keeps its base name. */
  rel: string;
  size: number;
  etag: string;
}

/**
 * The objects a storageUri names, as KServe's initializer: every key under the path taken as a
 * directory (`path/...`), prefix stripped; or the one object whose key is the path. Directory
 * markers (keys ending in `/`) are skipped. Keys that would leave the model dir are refused.
 */
export async function listS3(client: S3Client, loc: S3Location, uri: string, signal?: AbortSignal): Promise<{ objects: S3Object[]; single: boolean }> {
  const base = loc.path.replace(/\/+$/, '');
  const prefix = base === '' ? '' : `${base}/`;
  const found: Array<{ Key?: string; Size?: number; ETag?: string }> = [];
  let exact: { Key?: string; Size?: number; ETag?: string } | undefined;
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: base, ContinuationToken: token }), signal ? { abortSignal: signal } : {});
    for (const o of page.Contents ?? []) {
      if (!o.Key) continue;
      if (o.Key === base && base !== '' && !loc.path.endsWith('/')) exact = o;
      else if (o.Key.startsWith(prefix) && !o.Key.endsWith('/')) found.push(o);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (found.length === 0 && exact) {
    const name = base.slice(base.lastIndexOf('/') + 1);
    return { objects: [{ key: exact.Key!, rel: name, size: exact.Size ?? 0, etag: exact.ETag ?? '' }], single: true };
  }
  if (found.length === 0) throw new InferdError('not_found', `storageUri ${uri}: no objects under it`, { field: 'storageUri' });
  const objects = found.map((o) => {
    const rel = o.Key!.slice(prefix.length).replace(/^\/+/, '');
    const parts = rel.split('/');
    if (parts.some((p) => p === '..' || p === '.' || p === '') || rel.includes('\\') || rel.includes('\0')) {
      throw new InferdError('invalid_input', `storageUri ${uri}: object key "${o.Key}" would leave the model directory`, { field: 'storageUri' });
    }
    return { key: o.Key!, rel, size: o.Size ?? 0, etag: o.ETag ?? '' };
  });
  return { objects: objects.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0)), single: false };
}

/** Opens one object from byte `start`, pinned to the listed ETag (a changed object fails with 412). */
export function s3Opener(client: S3Client, bucket: string, obj: S3Object) {
  return async (start: number, signal: AbortSignal): Promise<OpenedBody> => {
    const res = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: obj.key, ...(obj.etag ? { IfMatch: obj.etag } : {}), ...(start > 0 ? { Range: `bytes=${start}-` } : {}) }),
      { abortSignal: signal },
    );
    const body = res.Body;
    if (!(body instanceof Readable)) throw new Error('S3 response without a body stream');
    const range = /^bytes (\d+)-\d+\/(\d+)$/.exec(res.ContentRange ?? '');
    if (range) return { body, start: Number(range[1]), total: Number(range[2]) };
    return { body, start: 0, ...(res.ContentLength !== undefined ? { total: res.ContentLength } : {}) };
  };
}

/** An InferdError for a final S3 failure, by its status; the SDK's message carries no secret, and it is redacted anyway. */
export function s3Error(err: unknown, uri: string): InferdError {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const what = `storageUri ${uri}: S3 ${e.name ?? 'error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`;
  if (e.name === 'NoSuchBucket' || e.name === 'NoSuchKey' || status === 404) return new InferdError('not_found', what, { field: 'storageUri' });
  if (e.name === 'InvalidAccessKeyId' || e.name === 'SignatureDoesNotMatch' || status === 401) return new InferdError('unauthenticated', what, { field: 'storageUri' });
  if (e.name === 'AccessDenied' || status === 403) return new InferdError('forbidden', what, { field: 'storageUri' });
  if (e.name === 'PreconditionFailed' || status === 412) return new InferdError('conflict', `storageUri ${uri}: an object changed during the download; deploy again`, { field: 'storageUri' });
  return new InferdError('not_ready', what, { field: 'storageUri' });
}
