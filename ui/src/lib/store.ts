import { useEffect, useState } from 'preact/hooks';
import { ApiError, INFERD, ISVC, getJson, request } from './api';
import { readSse } from './sse';
import type { InferenceService, Top, TopRow } from './types';

/** A few minutes of 1 s samples per model, kept in the browser for the live charts. */
export const HISTORY_POINTS = 300;

export interface Sample {
  t: number;
  rps: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  errors: number;
  queued: number;
  batch: number | null;
  replicas: number | null;
}

export interface LiveState {
  resources: InferenceService[] | null;
  top: Top | null;
  /** "ns/name" → the aggregate over the model's revisions. */
  topByModel: Map<string, TopRow>;
  connection: 'connecting' | 'live' | 'polling' | 'error';
  error: ApiError | null;
}

type Listener = () => void;

/**
 * One connection per tab: `GET /watch` (SSE, `top` every second and `resources`
 * on change). If the server has no watch endpoint it falls back to polling, so
 * the dashboard still works against an older inferd.
 */
class LiveStore {
  state: LiveState = { resources: null, top: null, topByModel: new Map(), connection: 'connecting', error: null };
  readonly history = new Map<string, Sample[]>();
  private listeners = new Set<Listener>();
  private abort: AbortController | null = null;
  private timers: number[] = [];
  private prevErrors = new Map<string, number>();

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private set(patch: Partial<LiveState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  start(): void {
    this.stop();
    this.abort = new AbortController();
    void this.watch(this.abort.signal);
  }

  stop(): void {
    this.abort?.abort();
    this.abort = null;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  reset(): void {
    this.stop();
    this.history.clear();
    this.state = { resources: null, top: null, topByModel: new Map(), connection: 'connecting', error: null };
  }

  /** After an apply, rollout or delete: fetch the list now rather than wait for the next event. */
  async refreshResources(): Promise<void> {
    try {
      const list = await getJson<{ items: InferenceService[] }>(`${ISVC}/inferenceservices`);
      this.set({ resources: list.items });
    } catch (e) {
      if (e instanceof ApiError) this.set({ error: e });
    }
  }

  private async watch(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted) {
      try {
        const res = await request(`${INFERD}/watch`, { signal, headers: { accept: 'text/event-stream' } });
        if (!res.body) throw new ApiError(0, 'no stream', '');
        attempt = 0;
        this.set({ connection: 'live', error: null });
        await readSse(res.body, (e) => {
          if (e.event === 'top') this.onTop(JSON.parse(e.data) as Top);
          else if (e.event === 'resources') this.set({ resources: (JSON.parse(e.data) as { items: InferenceService[] }).items });
        }, signal);
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof ApiError && e.status === 404) return this.poll(signal);
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return this.set({ connection: 'error', error: e });
        this.set({ connection: 'connecting' });
      }
      // Reconnect with a growing pause (1, 2, 4 … 10 s).
      await new Promise((r) => setTimeout(r, Math.min(10_000, 1000 * 2 ** attempt++)));
    }
  }

  private poll(signal: AbortSignal): void {
    this.set({ connection: 'polling' });
    const top = async () => {
      try {
        this.onTop(await getJson<Top>(`${INFERD}/top`));
      } catch (e) {
        if (e instanceof ApiError) this.set({ error: e });
      }
    };
    void this.refreshResources();
    void top();
    this.timers.push(window.setInterval(top, 1000), window.setInterval(() => void this.refreshResources(), 2000));
    signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  private onTop(top: Top): void {
    const byModel = new Map<string, TopRow>();
    for (const r of top.models) {
      const k = `${r.namespace}/${r.model}`;
      const prev = byModel.get(k);
      byModel.set(k, prev ? merge(prev, r) : { ...r });
    }
    const t = Date.parse(top.time) / 1000 || Date.now() / 1000;
    for (const [k, r] of byModel) {
      const series = this.history.get(k) ?? [];
      // Errors per second: the window's error count is cumulative over the window, so chart its change.
      const prevErr = this.prevErrors.get(k);
      this.prevErrors.set(k, r.errors);
      series.push({ t, rps: r.rps, p50: r.p50, p95: r.p95, p99: r.p99, errors: prevErr === undefined ? 0 : Math.max(0, r.errors - prevErr), queued: r.queued, batch: r.batchSize ?? null, replicas: r.replicas?.current ?? null });
      if (series.length > HISTORY_POINTS) series.splice(0, series.length - HISTORY_POINTS);
      this.history.set(k, series);
    }
    this.set({ top, topByModel: byModel });
  }
}

/** Sums rates and queues over revisions; latency is the worst revision's (an upper bound). */
function merge(a: TopRow, b: TopRow): TopRow {
  const max = (x: number | null, y: number | null) => (x === null ? y : y === null ? x : Math.max(x, y));
  return { ...a, rps: a.rps + b.rps, requests: a.requests + b.requests, errors: a.errors + b.errors, p50: max(a.p50, b.p50), p95: max(a.p95, b.p95), p99: max(a.p99, b.p99), queued: a.queued + b.queued, running: a.running + b.running, memoryBytes: a.memoryBytes + b.memoryBytes };
}

export const live = new LiveStore();

/** Re-renders the caller on every store change. */
export function useLive(): LiveState {
  const [state, setState] = useState(live.state);
  useEffect(() => live.subscribe(() => setState(live.state)), []);
  return state;
}
