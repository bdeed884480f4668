import { Writable } from 'node:stream';

export interface ModelLogLine {
  /** ms since epoch */
  time: number;
  level: string;
  revision?: string;
  text: string;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const KEEP_LINES = 300;
const KEEP_MODELS = 2000;
const MAX_TEXT = 2000;

/** Recent log lines about each model, by `namespace/name`; Map order is recency. */
const rings = new Map<string, ModelLogLine[]>();

function record(line: string): void {
  // Only lines about a model carry a `model` field; skip the parse for the rest.
  if (!line.includes('"model":')) return;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  if (typeof o.model !== 'string') return;
  const key = `${typeof o.namespace === 'string' ? o.namespace : 'default'}/${o.model}`;
  let ring = rings.get(key);
  if (ring) rings.delete(key);
  else ring = [];
  rings.set(key, ring);
  if (rings.size > KEEP_MODELS) rings.delete(rings.keys().next().value!);
  const err = (o.err as { message?: unknown } | undefined)?.message;
  const text = `${String(o.msg ?? '')}${typeof err === 'string' && !String(o.msg ?? '').includes(err) ? `: ${err}` : ''}`;
  const entry: ModelLogLine = { time: typeof o.time === 'number' ? o.time : Date.now(), level: LEVELS[o.level as number] ?? String(o.level), text: text.slice(0, MAX_TEXT) };
  if (o.revision !== undefined) entry.revision = String(o.revision);
  ring.push(entry);
  if (ring.length > KEEP_LINES) ring.splice(0, ring.length - KEEP_LINES);
}

/**
 * A pino destination that keeps inferd's own recent log lines about each model
 * (loads, failures, scaling, evictions), for `inferd logs` and the dashboard when the
 * model runs in-process and has no process output of its own.
 */
export function modelLogTap(): Writable {
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) record(line);
      done();
    },
  });
}

export function modelLog(namespace: string, name: string, tail?: number): ModelLogLine[] {
  const ring = rings.get(`${namespace}/${name}`) ?? [];
  return tail === undefined ? [...ring] : ring.slice(Math.max(0, ring.length - tail));
}
