import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fileURLToPath } from 'node:url';
import { compressedOf, pickEncoding, readUiFiles, type UiFile } from './ui-files.js';

/**
 * Sent with every /ui answer. The page loads only its own scripts and styles and talks
 * only to this origin, so an injected script or a framing page gets nothing.
 */
export const UI_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/** `INFERD_UI_DIR` (a UI built elsewhere, or a test's), else `dist/ui` next to the compiled server. */
export function defaultUiDir(): string {
  return process.env.INFERD_UI_DIR || fileURLToPath(new URL('../../../ui/', import.meta.url));
}

/**
 * The dashboard's static files on `/ui/`: `index.html` for `/ui/` and any client-side
 * route (a path without a dot), hashed files under `/ui/assets/`, nothing else.
 * Files are read once; while the UI is not built, /ui answers 503 and looks again
 * at most every 2 s, so `npm run build` beside a running server is picked up.
 */
export function registerUiRoutes(app: FastifyInstance, dir = defaultUiDir()): void {
  let files = readUiFiles(dir);
  let lookedAt = Date.now();
  const current = () => {
    if (!files && Date.now() - lookedAt > 2000) {
      lookedAt = Date.now();
      files = readUiFiles(dir);
    }
    return files;
  };

  const send = async (req: FastifyRequest, reply: FastifyReply, file: UiFile) => {
    void reply.header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache').header('etag', file.etag).type(file.type);
    if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
    const variants = await compressedOf(file);
    if (variants.br || variants.gzip) void reply.header('vary', 'Accept-Encoding');
    const enc = pickEncoding(req.headers['accept-encoding'], variants);
    if (enc) return reply.header('content-encoding', enc).send(variants[enc]);
    return reply.send(file.body);
  };
  const fail = (reply: FastifyReply, status: number, error: string) => reply.code(status).type('application/json').header('cache-control', 'no-cache').send(JSON.stringify({ error }));
  const index = (req: FastifyRequest, reply: FastifyReply) => {
    const f = current();
    if (!f) return fail(reply, 503, `the dashboard is not built (no index.html in ${dir}): run npm run build`);
    return send(req, reply, f.get('index.html')!);
  };

  // Encapsulated so the security headers apply to these routes only, errors included.
  void app.register(async (ui) => {
    ui.addHook('onSend', async (_req, reply, payload) => {
      void reply.headers(UI_HEADERS);
      return payload;
    });
    ui.get('/ui', async (req, reply) => reply.redirect(`/ui/${req.url.slice('/ui'.length).replace(/^\/+/, '')}`, 308));
    ui.get('/ui/', async (req, reply) => index(req, reply));
    ui.get('/ui/*', async (req: FastifyRequest<{ Params: { '*': string } }>, reply) => {
      const path = req.params['*'];
      // Client-side routes (/ui/models/iris) have no dot; every real file has one.
      if (!path.includes('.')) return index(req, reply);
      const f = current();
      const file = path.startsWith('assets/') ? f?.get(path) : undefined;
      if (!file) return fail(reply, f ? 404 : 503, f ? `no dashboard file ${path.slice(0, 200)}` : `the dashboard is not built: run npm run build`);
      return send(req, reply, file);
    });
  });
}
