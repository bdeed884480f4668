import type { LogBuffer, LogLine } from './log-buffer.js';
import type { ManagedProcess, ProcessEventReason, ProcessStatus } from './process-manager.js';

/**
 * The external processes inferd runs, by InferenceService, for `inferd logs` and
 * status. The last stopped process of each InferenceService is remembered (status,
 * recent lines, log file) so its output can still be read after a delete or a crash loop.
 */
export interface ProcessEntry {
  namespace: string;
  name: string;
  /** The revision the process serves, where known. */
  revision?: string;
  process: ManagedProcess;
  logs: LogBuffer;
}

export interface ProcessView extends ProcessStatus {
  revision?: string;
  logFile?: string;
  /** False for the remembered, already stopped process. */
  live: boolean;
}

interface Stopped {
  view: ProcessView;
  lines: LogLine[];
}

/** A crash or restart, shaped like a stored event, for the reconciler to record. */
export interface ProcessEvent {
  namespace: string;
  name: string;
  revision?: string;
  type: 'Normal' | 'Warning';
  reason: ProcessEventReason;
  message: string;
}

const listeners = new Set<(e: ProcessEvent) => void>();

/** Subscribes to crash/restart events of every external process; returns the unsubscribe. */
export function onProcessEvent(listener: (e: ProcessEvent) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function emitProcessEvent(e: ProcessEvent): void {
  for (const l of listeners) {
    try {
      l(e);
    } catch {
      // a listener's failure is not the process's
    }
  }
}

const KEEP_STOPPED = 100;
const KEEP_STOPPED_LINES = 500;

const live = new Map<string, Set<ProcessEntry>>();
const stopped = new Map<string, Stopped>();
const key = (ns: string, name: string) => `${ns}/${name}`;

function viewOf(e: ProcessEntry, isLive: boolean): ProcessView {
  const v: ProcessView = { ...e.process.status(), live: isLive };
  if (e.revision !== undefined) v.revision = e.revision;
  const file = e.logs.file;
  if (file !== undefined) v.logFile = file;
  return v;
}

/** Registers a started process; the returned function unregisters it (call it once it stopped). */
export function registerProcess(entry: ProcessEntry): () => void {
  const k = key(entry.namespace, entry.name);
  let set = live.get(k);
  if (!set) live.set(k, (set = new Set()));
  set.add(entry);
  return () => {
    // Capture before logs.close() forgets the file.
    const view = viewOf(entry, false);
    stopped.delete(k);
    stopped.set(k, { view, lines: entry.logs.tail(KEEP_STOPPED_LINES) });
    while (stopped.size > KEEP_STOPPED) stopped.delete(stopped.keys().next().value!);
    set.delete(entry);
    if (set.size === 0) live.delete(k);
  };
}

/** Status of the processes serving an InferenceService (empty when it has none). */
export function processStatus(namespace: string, name: string): ProcessView[] {
  return [...(live.get(key(namespace, name)) ?? [])].map((e) => viewOf(e, true));
}

/** Running processes with their recent output; else the last stopped one. */
export function processLogs(namespace: string, name: string, tail?: number): Array<ProcessView & { lines: LogLine[] }> {
  const running = [...(live.get(key(namespace, name)) ?? [])];
  if (running.length) return running.map((e) => ({ ...viewOf(e, true), lines: e.logs.tail(tail) }));
  const last = stopped.get(key(namespace, name));
  if (!last) return [];
  return [{ ...last.view, lines: tail === undefined ? last.lines : last.lines.slice(Math.max(0, last.lines.length - tail)) }];
}
