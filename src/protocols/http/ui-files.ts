import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib';

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);

/** One file of the built dashboard, held in memory: the UI is small and immutable per build. */
export interface UiFile {
  body: Buffer;
  type: string;
  etag: string;
  /** Vite names assets `name-<hash>.ext`: such a URL never changes content, so browsers may keep it forever. */
  immutable: boolean;
  /** Pre-compressed variants, made once on first request (not at start, so `serve` starts as fast without a browser). */
  compressed?: Promise<{ br?: Buffer; gzip?: Buffer }>;
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json; charset=utf-8',
  map: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  ico: 'image/x-icon',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  txt: 'text/plain; charset=utf-8',
  wasm: 'application/wasm',
};
const COMPRESSIBLE = /^(text\/|application\/json|image\/svg)/;
const HASHED = /-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

export function contentTypeOf(name: string): string {
  const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  return TYPES[ext] ?? 'application/octet-stream';
}

/**
 * The dashboard's files: `index.html` and everything under `assets/`, keyed by the
 * path relative to the UI folder. Requests are answered by looking a key up in this
 * map, never by joining a request path onto the disk path, so `..` or encoded
 * slashes cannot reach any other file.
 */
export function readUiFiles(dir: string): Map<string, UiFile> | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const files = new Map<string, UiFile>();
  const add = (rel: string, abs: string) => {
    const body = readFileSync(abs);
    files.set(rel, { body, type: contentTypeOf(rel), etag: `"${createHash('sha1').update(body).digest('base64url')}"`, immutable: rel.startsWith('assets/') && HASHED.test(rel) });
  };
  add('index.html', join(dir, 'index.html'));
  const walk = (relDir: string) => {
    const absDir = join(dir, relDir);
    if (!existsSync(absDir)) return;
    for (const name of readdirSync(absDir)) {
      const rel = `${relDir}/${name}`;
      const abs = join(absDir, name);
      const st = statSync(abs);
      if (st.isDirectory()) walk(rel);
      else if (st.isFile()) add(rel, abs);
    }
  };
  walk('assets');
  return files;
}

/** Brotli and gzip variants of a text file, when they are smaller; computed once. */
export function compressedOf(file: UiFile): Promise<{ br?: Buffer; gzip?: Buffer }> {
  if (!COMPRESSIBLE.test(file.type) || file.body.length < 1024) return Promise.resolve({});
  file.compressed ??= Promise.all([
    brotli(file.body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: file.body.length } }),
    gz(file.body, { level: 9 }),
  ]).then(([br, g]) => ({ ...(br.length < file.body.length ? { br } : {}), ...(g.length < file.body.length ? { gzip: g } : {}) }));
  return file.compressed;
}

/** The best encoding the client accepts of those we have (brotli first), from `Accept-Encoding`. */
export function pickEncoding(accept: string | undefined, have: { br?: Buffer; gzip?: Buffer }): 'br' | 'gzip' | undefined {
  if (!accept) return undefined;
  const accepted = new Map<string, number>();
  for (const part of accept.split(',')) {
    const [token, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    accepted.set(token!.trim(), q === undefined ? 1 : Number(q));
  }
  const ok = (enc: string) => (accepted.get(enc) ?? accepted.get('*') ?? 0) > 0;
  if (have.br && ok('br')) return 'br';
  if (have.gzip && ok('gzip')) return 'gzip';
  return undefined;
}
