import type { Tensor, TensorSpec } from '../api/inference.js';
import type { Logger } from '../observability/logger.js';
import type { LlmModel } from './llm/llm-types.js';

/** Everything a runtime needs to load one model; it knows nothing of HTTP or resources. */
export interface LoadContext {
  /** The served model name (the InferenceService name). */
  name: string;
  /** Local path the storage URI resolved to: a directory or a single file. */
  path: string;
  format: { name: string; version?: string };
  /** ServingRuntime container args followed by the predictor's own args. */
  args: string[];
  env: Record<string, string>;
  /** Native thread counts decided by the server's thread policy. */
  threads: { intraOp: number; interOp: number };
  /** `limits.maxModelDecodedBytes`: what a model file may decode into (readers check before allocating). */
  maxDecodedBytes?: number;
  log: Logger;
  /** Aborted when the revision goes away while it loads: a runtime that starts a process stops it. */
  signal?: AbortSignal;
  /** For a runtime that runs a process: the InferenceService's namespace, where logs go, the runtime's directory. */
  process?: { namespace: string; dataDir: string; baseDir: string };
}

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export interface LoadedModel {
  readonly platform: string;
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  /**
   * Runs a validated batch: inputs match `inputs` in name, datatype and shape;
   * `outputNames` is a non-empty subset of `outputs`.
   */
  infer(inputs: Tensor[], outputNames: string[]): Promise<Tensor[]>;
  /** A model served by an external process: protocol routes forward requests to it unchanged. */
  readonly proxy?: { baseUrl: string };
  /** An external process that answers the OpenAI API (every process, vLLM included): the OpenAI routes forward to it. */
  readonly openaiProxy?: { baseUrl: string };
  /** False while the model's process restarts or fails its health checks: the model answers not ready meanwhile. */
  healthy?(): boolean;
  /**
   * Models with several named signatures (TensorFlow SignatureDefs): each one's specs,
   * and a call that runs one of them (V2 `parameters.signature_name`).
   */
  readonly signatures?: Readonly<Record<string, ModelSignature>>;
  inferSignature?(signature: string, inputs: Tensor[], outputNames: string[]): Promise<Tensor[]>;
  /** The version the storage named (a TF Serving version directory), where there is one. */
  readonly modelVersion?: string;
  /** Models with their own V1 semantics (custom runtimes) take the raw V1 body. */
  predictV1?(body: unknown): Promise<unknown>;
  /**
   * A worker-isolated runtime's model moved to the event loop's thread because it computes in
   * microseconds (see `Runtime.inlineBelowMicros`): its calls run one at a time there anyway.
   */
  readonly onMainThread?: boolean;
  /** Replica count and scaling, for models served by several replicas (worker threads). */
  readonly size?: number;
  scaleTo?(n: number): Promise<void>;
  /** LLMs: generate/stream/embed/tokenize, used by the OpenAI routes. */
  readonly llm?: LlmModel;
  /** Bytes this model holds, measured after load. */
  memoryBytes(): number;
  unload(): Promise<void>;
}

export interface Runtime {
  /** Built-in ServingRuntime name, e.g. `inferd-onnx`. */
  readonly name: string;
  /** The model formats it serves, as `supportedModelFormats` names them. */
  readonly formats: readonly string[];
  /**
   * `worker`: each replica runs in its own worker thread, for runtimes that compute
   * synchronously on the calling thread. Default `inline` (async or microsecond work).
   */
  readonly isolation?: 'worker' | 'inline';
  /**
   * A `worker` runtime whose single replica computes faster than this (µs, measured at load)
   * runs on the main thread instead: the thread hop would cost more than the model.
   */
  readonly inlineBelowMicros?: number;
  /**
   * Parses untrusted files in JS: its worker gets a V8 heap limit derived from
   * `limits.maxModelDecodedBytes`, so a runaway parse fails the load, not the process.
   */
  readonly boundedHeap?: boolean;
  /**
   * Whether the model's own args or env set its intra-op threads. A runtime with this method
   * computes with `ctx.threads.intraOp` threads, which the server's thread policy may raise
   * for a model measured heavy at load when nobody set them.
   */
  explicitIntraOp?(ctx: LoadContext): boolean;
  load(ctx: LoadContext): Promise<LoadedModel>;
}
