import { ERROR_CODES, InferdError, type ErrorCode } from '../../api/errors.js';
import type { Tensor, TensorSpec } from '../../api/inference.js';
import type { LoadContext, ModelSignature } from '../../runtimes/types.js';

/** What a replica worker loads: a registered runtime by name, or a user's model module. */
export type WorkerTarget = { runtime: string } | { module: string };

export interface WorkerInit {
  target: WorkerTarget;
  ctx: Omit<LoadContext, 'log'>;
  logLevel: string;
  /** Time the loaded model on zero inputs and report it when faster than this (µs). */
  probeBelowMicros?: number;
  /** Report the cost of a model slower than `probeBelowMicros` too (the thread policy needs it). */
  probeSlow?: boolean;
  /** V8 old-generation limit of the worker (MiB): exhausting it ends the worker, not the process. */
  heapLimitMb?: number;
}

export type ToWorker =
  | { type: 'infer'; id: number; inputs: Tensor[]; outputNames: string[] }
  | { type: 'v1'; id: number; body: unknown }
  | { type: 'signature'; id: number; signature: string; inputs: Tensor[]; outputNames: string[] }
  | { type: 'unload' };

export interface SerializedError {
  code: ErrorCode;
  message: string;
  retryAfter?: number;
  field?: string;
}

export type FromWorker =
  | {
      type: 'ready';
      platform: string;
      inputs: TensorSpec[];
      outputs: TensorSpec[];
      memoryBytes: number;
      hasV1: boolean;
      signatures?: Record<string, ModelSignature>;
      modelVersion?: string;
      probeMicros?: number;
    }
  | { type: 'load-error'; error: SerializedError }
  | { type: 'result'; id: number; outputs?: Tensor[]; body?: unknown }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'unloaded' };

/** InferdErrors cross the thread boundary as data; anything else becomes `internal`. */
export function serializeError(err: unknown): SerializedError {
  if (InferdError.is(err)) {
    const out: SerializedError = { code: err.code, message: err.message };
    if (err.retryAfter !== undefined) out.retryAfter = err.retryAfter;
    if (err.field !== undefined) out.field = err.field;
    return out;
  }
  return { code: 'internal', message: err instanceof Error ? err.message : String(err) };
}

export function deserializeError(e: SerializedError): InferdError {
  const code = (ERROR_CODES as readonly string[]).includes(e.code) ? e.code : 'internal';
  const opts: { retryAfter?: number; field?: string } = {};
  if (e.retryAfter !== undefined) opts.retryAfter = e.retryAfter;
  if (e.field !== undefined) opts.field = e.field;
  // Internal errors keep a generic text for clients; the worker's message goes to the log as the cause.
  return code === 'internal' ? new InferdError('internal', 'internal error', { cause: new Error(e.message) }) : new InferdError(code, e.message, opts);
}
