import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { acquireLock, type Lock } from 'lifecycle-utils';
import type { LlamaContext, LlamaContextSequence, Token } from 'node-llama-cpp';
import type { NativeLlamaApi, NativeRun, NativeSampler, SamplerConfig } from './native-llama.js';

/**
 * Tokens the native thread may sample before the consumer has taken them. Enough that the
 * event loop's work on a token (stop strings, streaming) never holds up the next decode;
 * few, since a generation that stops early decoded them for nothing.
 */
const MAX_AHEAD = 4;

/** What node-llama-cpp's patched `_evaluate` passes to the hook (its own resolved options). */
interface EvaluateOptions {
  temperature: number;
  minP: number;
  topK: number;
  topP: number;
  seed?: number;
  xtc?: unknown;
  grammarEvaluationState?: unknown;
  repeatPenalty?: false | { penalty?: number; presencePenalty?: number; frequencyPenalty?: number };
  dryRepeatPenalty?: { strength?: number };
  tokenBias?: unknown;
  evaluationPriority: unknown;
  generateNewTokens: boolean;
  contextShiftOptions: unknown;
  yieldEogToken: boolean;
  _noSampling: boolean;
  _skipLock: boolean;
}

interface EvaluateMetadata {
  probabilities?: boolean;
  confidence?: boolean;
}

type Step = { token: Token };
type Reply = Token | Token[] | undefined;
type Evaluation = AsyncGenerator<Step, void, Reply>;

/**
 * The node-llama-cpp internals of a sequence this module reads and keeps (its
 * LlamaContext.js; the version is pinned by the patch that calls `_inferdEvaluate`).
 */
interface Sequence {
  _inferdEvaluate?: (tokens: Token[], metadata: EvaluateMetadata, options: EvaluateOptions) => Evaluation | null;
  _sequenceId: number;
  _nextTokenIndex: number;
  _contextTokens: Token[];
  _lock: object;
  _tokenMeter: { useTokens(tokens: number, type: 'input' | 'output'): void };
  _ensureNotDisposed(): void;
  _abortTokenPredictor(skipClearingPredictionsFromState: boolean, skipLock: boolean): Promise<void>;
  _decodeTokens(tokens: Token[], logits: boolean[], priority: unknown, meter: unknown, shift: unknown, sample: (batchLogitIndex: number) => Promise<number>, afterBatch: unknown): Promise<unknown[]>;
  _takeIntervalCheckpointIfNeededAfterBatch: unknown;
  readonly needsCheckpoints: boolean;
  readonly model: { isEogToken(token: Token): boolean };
}

/**
 * Whether this module's lifecycle-utils is node-llama-cpp's: its locks are module state, so
 * with two copies the context lock a run takes would not keep node-llama-cpp's batches out.
 */
export function sharesNodeLlamaCppLocks(): boolean {
  try {
    const fromNodeLlamaCpp = createRequire(fileURLToPath(import.meta.resolve('node-llama-cpp'))).resolve('lifecycle-utils');
    return fromNodeLlamaCpp === fileURLToPath(import.meta.resolve('lifecycle-utils'));
  } catch {
    return false;
  }
}

let creations: Promise<unknown> = Promise.resolve();

/**
 * Runs `create` (which makes llama.cpp contexts) after every earlier one has finished, and
 * returns the ids the native library gave the contexts it made: run one at a time, so a
 * model's context is told apart from a context another model makes at the same moment.
 */
export function createContexts<T>(api: NativeLlamaApi, create: () => Promise<T>): Promise<{ value: T; ids: number[] }> {
  const run = creations.then(async () => {
    const mark = api.contextMark();
    const value = await create();
    return { value, ids: api.contextsSince(mark) };
  });
  creations = run.catch(() => undefined);
  return run;
}

/**
 * Plain generations (no grammar, penalties or per-token metadata) on one llama.cpp context,
 * sampled by inferd's native sampler and, while one sequence generates alone, decoded on the
 * native library's own thread (native/generate.c): decode and sampling there, one after the
 * other, with the event loop streaming tokens meanwhile. node-llama-cpp runs each such step
 * as two libuv jobs with its JavaScript between them on the critical path (docs/llm.md).
 * When another request takes a sequence (`joined`, called by the model), the run stops
 * before its next decode and the generation goes on as node-llama-cpp batch steps, with
 * the same sampler, so its tokens do not depend on which path ran a step.
 */
export class NativeGeneration {
  /** The run on the native thread, if one is running (one at a time: a run needs its sequence alone). */
  private current?: NativeRun;

  constructor(
    private readonly api: NativeLlamaApi,
    private readonly ctxId: number,
    private readonly context: LlamaContext,
    /** True while the sequence generating is the only one holding a request. */
    private readonly alone: () => boolean,
  ) {}

  /** Another request has taken a sequence: a run stops before its next decode. */
  joined(): void {
    if (this.current) this.api.stop(this.current);
  }

  /**
   * Runs `generate` with `seq`'s plain evaluations going through this class. `budget`: the
   * most tokens the consumer takes from an evaluation (its max_tokens); the native thread
   * decodes no further ahead than that, so a generation that ends at its limit does not
   * leave a decode for the next request to wait out.
   */
  async plain<T>(seq: LlamaContextSequence, budget: number, generate: () => Promise<T>): Promise<T> {
    const s = seq as unknown as Sequence;
    s._inferdEvaluate = (tokens, metadata, options) => this.evaluation(s, tokens, metadata, options, budget);
    try {
      return await generate();
    } finally {
      delete s._inferdEvaluate;
    }
  }

  private evaluation(s: Sequence, tokens: Token[], metadata: EvaluateMetadata, o: EvaluateOptions, budget: number): Evaluation | null {
    if (!tokens.length || !o.generateNewTokens || o._noSampling || o._skipLock || metadata.probabilities || metadata.confidence) return null;
    if (o.xtc != null || (o.dryRepeatPenalty?.strength ?? 0) !== 0 || s.needsCheckpoints) return null;
    const grammar = typeof o.grammarEvaluationState === 'function' ? (o.grammarEvaluationState as () => unknown)() : o.grammarEvaluationState;
    if (grammar != null) return null;
    const rp = o.repeatPenalty;
    if (rp && ((rp.penalty ?? 1) !== 1 || (rp.presencePenalty ?? 0) !== 0 || (rp.frequencyPenalty ?? 0) !== 0)) return null;
    return this.generate(s, tokens, o, budget);
  }

  /** The chain node-llama-cpp would build for these options (its `_resolveSamplerConfig`). */
  private sampler(o: EvaluateOptions): NativeSampler {
    const config: SamplerConfig = { temperature: o.temperature, topK: o.topK, topP: o.topP, minP: o.minP };
    if (Number.isFinite(o.seed)) config.seed = Math.max(0, Math.floor(o.seed!)) >>> 0;
    const bias = (typeof o.tokenBias === 'function' ? (o.tokenBias as () => unknown)() : o.tokenBias) as { _biases?: Map<number, number> } | undefined;
    const entries = bias?._biases ? [...bias._biases] : [];
    if (entries.length) {
      config.biasTokens = Uint32Array.from(entries, (e) => e[0]);
      config.biasValues = Float32Array.from(entries, (e) => e[1]);
    }
    return this.api.sampler(this.ctxId, config);
  }

  private free(): boolean {
    const queued = (this.context as unknown as { _queuedDecodes?: unknown[] })._queuedDecodes;
    return this.alone() && (queued?.length ?? 0) === 0;
  }

  private async *generate(s: Sequence, tokens: Token[], o: EvaluateOptions, budget: number): Evaluation {
    await s._abortTokenPredictor(false, true);
    const sampler = this.sampler(o);
    let evalTokens = tokens;
    /** Tokens handed to the consumer so far. */
    const given = { n: 0 };
    while (true) {
      s._ensureNotDisposed();
      if (evalTokens.length === 1 && this.free() && given.n < budget) {
        const after = yield* this.run(s, evalTokens[0]!, sampler, o.yieldEogToken, budget - given.n, given);
        if (after === null) return;
        if (after !== undefined) {
          evalTokens = after;
          continue;
        }
      }
      const lock = await acquireLock([s._lock, 'evaluate'] as const);
      let next: Token;
      try {
        const logits: boolean[] = [];
        logits[evalTokens.length - 1] = true;
        const decoded = await s._decodeTokens(evalTokens, logits, o.evaluationPriority, s._tokenMeter, o.contextShiftOptions, (i) => this.api.sample(this.ctxId, i, sampler), s._takeIntervalCheckpointIfNeededAfterBatch);
        const last = decoded[evalTokens.length - 1];
        if (last == null) return;
        next = last as Token;
        if (!o.yieldEogToken && s.model.isEogToken(next)) return;
      } finally {
        lock.dispose();
      }
      given.n++;
      evalTokens = nextTokens(yield { token: next }, next);
    }
  }

  /**
   * Steps on the native thread while the sequence generates alone, from `first` (sampled,
   * not yet decoded), posting at most `left` tokens; `given` counts the tokens yielded.
   * Returns the tokens to evaluate next, null when the generation ended, or undefined when
   * the run could not start.
   */
  private async *run(s: Sequence, first: Token, sampler: NativeSampler, yieldEog: boolean, left: number, given: { n: number }): AsyncGenerator<Step, Token[] | null | undefined, Reply> {
    const locks: Lock[] = [await acquireLock([s._lock, 'evaluate'] as const)];
    try {
      locks.push(await acquireLock([this.context, 'context'] as const));
    } catch (err) {
      locks[0]!.dispose();
      throw err;
    }
    const release = () => {
      for (const l of locks.reverse()) l.dispose();
    };
    const start = s._nextTokenIndex;
    // Each decode posts one token; the last one the consumer takes is not decoded.
    const limit = Math.min(this.context.contextSize - 1, start + left);
    if (!this.free() || start >= limit) {
      release();
      return undefined;
    }
    const posted: Token[] = [];
    let status: number | undefined;
    let wake: (() => void) | undefined;
    let input = first;
    let handle: NativeRun;
    try {
      handle = this.api.run(this.ctxId, s._sequenceId, start, first, sampler, limit, MAX_AHEAD, (kind, value) => {
        if (kind === 0) {
          // Posting `value` means its input is in the KV cache: node-llama-cpp's bookkeeping follows.
          s._contextTokens = s._contextTokens.concat(input);
          s._nextTokenIndex++;
          s._tokenMeter.useTokens(1, 'output');
          input = value as Token;
          posted.push(input);
        } else status = value;
        wake?.();
      });
    } catch (err) {
      release();
      throw err;
    }
    this.current = handle;
    const arrival = () => new Promise<void>((resolve) => (wake = resolve));
    let taken = 0;
    try {
      while (taken < posted.length || status === undefined) {
        if (taken === posted.length) {
          await arrival();
          continue;
        }
        const token = posted[taken++]!;
        if (!yieldEog && s.model.isEogToken(token)) return null;
        given.n++;
        const reply = yield { token };
        this.api.ack(handle);
        if (reply != null && (Array.isArray(reply) || reply !== token)) return nextTokens(reply, token);
      }
      if (status !== 0) throw new Error(status === 1 ? 'could not find a KV slot for the batch (try reducing the size of the batch or increase the context)' : 'Eval has failed');
      return [posted.at(-1) ?? first];
    } finally {
      this.api.stop(handle);
      while (status === undefined) await arrival();
      this.current = undefined;
      // The consumer has the `taken` tokens; the last of them is not in the KV cache yet (as
      // after node-llama-cpp's own steps), nor is anything the thread decoded after it.
      const keep = start + taken;
      if (s._nextTokenIndex > keep) {
        this.api.forget(this.ctxId, s._sequenceId, keep);
        s._nextTokenIndex = keep;
        s._contextTokens = s._contextTokens.slice(0, keep);
      }
      release();
    }
  }
}

/** What node-llama-cpp evaluates after a yielded token: the consumer's replacement, or the token. */
function nextTokens(reply: Reply, token: Token): Token[] {
  return Array.isArray(reply) ? reply.slice() : reply != null ? [reply] : [token];
}
