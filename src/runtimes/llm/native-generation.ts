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
/**
 * The longest the sequences that asked for a run wait for the other stepping sequences to
 * ask. A sequence asks once its token is sampled and its consumer has it, which takes longer
 * than a step only while the context is busy with something else (a long prompt), and then
 * no run could start anyway; the bound is a guard, not a tuning.
 */
const GATHER_MS = 100;

/** What node-llama-cpp's patched `_evaluate` passes to the hook (its own resolved options). */
interface EvaluateOptions {
  temperature: number;
  minP: number;
  topK: number;
  topP: number;
  seed?: number;
  xtc?: unknown;
  grammarEvaluationState?: unknown;
  repeatPenalty?: false | { penalty?: number; presencePenalty?: number; frequencyPenalty?: number; maxPunishTokens?: number; punishTokens?: Token[] | (() => Token[]) };
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

/** An evaluation option as node-llama-cpp passes it: a value, or a function giving its value now. */
function current<T>(option: T | (() => T)): T {
  return typeof option === 'function' ? (option as () => T)() : option;
}

/** The node-llama-cpp internals of the context this module reads and wraps (same pinned version). */
interface ContextInternals {
  _queuedDecodes?: unknown[];
  _decodeTokens(...args: unknown[]): Promise<unknown>;
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

/** One sequence taking part in a native run. */
interface Member {
  s: Sequence;
  /** Its input when the run starts: sampled, not yet decoded. */
  first: Token;
  sampler: NativeSampler;
  /** The most tokens the run may post for it (what is left of its budget). */
  left: number;
  yieldEog: boolean;
  /** Tokens yielded to its consumer, across runs and batch steps. */
  given: { n: number };
  run?: Run;
  index: number;
  /** Where the run started it, the position it stops at, the tokens posted for it, and how many of them its consumer has taken. */
  start: number;
  limit: number;
  posted: Token[];
  taken: number;
  /** Posted tokens not yet acked (each is acked once: the run waits for them). */
  unacked: number;
  /** The run posts nothing more for it: an end-of-generation token (`eog`, the last posted) or its limit came. */
  ended: boolean;
  eog: boolean;
  done: boolean;
  wake?: () => void;
  /** While it waits for the others to ask: settles with whether it is in a run. */
  decide?: (inRun: Promise<boolean>) => void;
}

/** A native run of one or several members, from its start to its end message. */
interface Run {
  members: Member[];
  handle?: NativeRun;
  /** llama_decode's status in the end message; undefined until it came. */
  status?: number;
  stopAsked: boolean;
  started: Promise<boolean>;
  release?: () => void;
}

/**
 * Plain generations (no grammar, penalties or per-token metadata) on one llama.cpp context,
 * sampled by inferd's native sampler and decoded on the native library's own thread
 * (native/generate.c): decode and sampling there, one after the other. node-llama-cpp runs
 * each step as two libuv jobs per sequence with its JavaScript between them on the
 * critical path (docs/llm.md).
 *
 * - One sequence generating alone runs up to MAX_AHEAD tokens ahead of its consumer, so the
 *   event loop streams tokens while the next one decodes (on `oneTokenThreads` ggml threads).
 * - Several generating sequences run together, one batch a step, once every sequence
 *   holding a request has asked for its next token (else the step is node-llama-cpp's, as
 *   while a prompt is evaluated or a grammar generation runs beside them). A step
 *   of several tokens uses every ggml thread, so the run waits for every consumer before
 *   the next step: the event loop's work never preempts a ggml thread at its barriers.
 * When another request takes a sequence (`joined`, called by the model), the run stops
 * before its next decode and its generations go on as node-llama-cpp steps until they can
 * run natively again, with the same samplers, so their tokens do not depend on which path
 * ran a step.
 */
export class NativeGeneration {
  /** The run on the native thread, if one is running or starting (one at a time: it holds the context lock). */
  private current?: Run;
  /** Members waiting for every generating sequence to ask for its next token. */
  private gathering: Member[] = [];
  /** Plain generations stepping one token at a time (through a run or node-llama-cpp). */
  private readonly stepping = new Set<Sequence>();
  /** Gives a gathering up if the sequences it waits for have not asked by then. */
  private gatherTimer?: NodeJS.Timeout;

  constructor(
    private readonly api: NativeLlamaApi,
    private readonly ctxId: number,
    private readonly context: LlamaContext,
    /** How many sequences hold a request. */
    private readonly busy: () => number,
    /** ggml threads for a run's one-token steps (llm-threads.ts, oneTokenThreads). */
    readonly oneTokenThreads: number,
  ) {
    // Members gathering when node-llama-cpp queues a decode join its batch, which holds for
    // them (StepBatching), rather than wait for sequences that are in it.
    const ctx = context as unknown as ContextInternals;
    const decode = ctx._decodeTokens;
    ctx._decodeTokens = (...args) => {
      const decoded = decode.apply(ctx, args);
      this.gather();
      return decoded;
    };
  }

  /** Another request has taken a sequence: a run stops before its next decode. */
  joined(): void {
    if (!this.current) return;
    this.current.stopAsked = true;
    if (this.current.handle) this.api.stop(this.current.handle);
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
    const grammar = current(o.grammarEvaluationState);
    if (grammar != null) return null;
    // The penalty's window is the tokens this evaluation samples: one that starts with tokens to
    // punish already (after a context shift) stays node-llama-cpp's.
    const rp = o.repeatPenalty;
    const punished = rp ? current(rp.punishTokens) : undefined;
    if (punished?.length) return null;
    return this.generate(s, tokens, o, budget);
  }

  /** The chain node-llama-cpp would build for these options (its `_resolveSamplerConfig`). */
  private sampler(o: EvaluateOptions): NativeSampler {
    const config: SamplerConfig = { temperature: o.temperature, topK: o.topK, topP: o.topP, minP: o.minP };
    if (Number.isFinite(o.seed)) config.seed = Math.max(0, Math.floor(o.seed!)) >>> 0;
    const bias = current(o.tokenBias) as { _biases?: Map<number, number> } | undefined;
    const entries = bias?._biases ? [...bias._biases] : [];
    if (entries.length) {
      config.biasTokens = Uint32Array.from(entries, (e) => e[0]);
      config.biasValues = Float32Array.from(entries, (e) => e[1]);
    }
    const rp = o.repeatPenalty;
    if (rp) {
      // node-llama-cpp's defaults (AddonSampler, _resolveSamplerConfig).
      config.penaltyLastN = rp.maxPunishTokens ?? 64;
      config.penaltyRepeat = rp.penalty ?? 1;
      config.penaltyFrequency = rp.frequencyPenalty ?? 0;
      config.penaltyPresence = rp.presencePenalty ?? 0;
    }
    return this.api.sampler(this.ctxId, config);
  }

  /** No node-llama-cpp decode is queued on the context. */
  private quiet(): boolean {
    const queued = (this.context as unknown as ContextInternals)._queuedDecodes;
    return (queued?.length ?? 0) === 0;
  }

  private async *generate(s: Sequence, tokens: Token[], o: EvaluateOptions, budget: number): Evaluation {
    await s._abortTokenPredictor(false, true);
    const sampler = this.sampler(o);
    /** Tokens handed to the consumer so far. */
    const given = { n: 0 };
    try {
      yield* this.steps(s, tokens, o, sampler, budget, given);
    } finally {
      this.stepping.delete(s);
    }
  }

  private async *steps(s: Sequence, tokens: Token[], o: EvaluateOptions, sampler: NativeSampler, budget: number, given: { n: number }): Evaluation {
    let evalTokens = tokens;
    while (true) {
      s._ensureNotDisposed();
      // A sequence stepping one token at a time is about to ask for a run; one evaluating a
      // prompt (or a consumer's replacement tokens) is not.
      if (evalTokens.length === 1) this.stepping.add(s);
      else if (this.stepping.delete(s)) this.gather();
      if (evalTokens.length === 1 && given.n < budget) {
        const m: Member = { s, first: evalTokens[0]!, sampler, left: budget - given.n, yieldEog: o.yieldEogToken, given, index: 0, start: 0, limit: 0, posted: [], taken: 0, unacked: 0, ended: false, eog: false, done: false };
        if (await this.enter(m)) {
          const after = yield* this.take(m);
          if (after === null) return;
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
   * Puts `m` in a native run: alone at once when its sequence is the only one generating,
   * else once every generating sequence has asked. False when it takes this step through
   * node-llama-cpp instead: a decode is queued there (its batch holds for this one), some
   * sequence holding a request is not stepping one token at a time (a prompt, a grammar
   * generation, a request not yet evaluating), or the others did not ask within GATHER_MS.
   */
  private enter(m: Member): Promise<boolean> {
    if (!this.current && this.busy() <= 1 && this.quiet()) return this.begin([m]);
    const decided = new Promise<boolean>((resolve) => (m.decide = resolve));
    this.gathering.push(m);
    this.gather();
    return decided;
  }

  /** A request has left the context: the members gathering may now be every generating sequence. */
  left(): void {
    this.gather();
  }

  /** Starts the members gathering in a run, gives them up, or waits for the next change. */
  private gather(): void {
    if (this.gathering.length === 0) return;
    // node-llama-cpp's next batch holds for every generating sequence (StepBatching): join it.
    if (!this.quiet()) return this.decide(Promise.resolve(false));
    const asked = new Set(this.gathering.map((m) => m.s));
    const missing = this.busy() - asked.size;
    if (missing <= 0 && !this.current) return this.decide(this.begin(this.gathering.slice()));
    const coming = [...this.stepping].filter((q) => !asked.has(q)).length;
    // While a run is ending (`current`), its members are about to ask too.
    if (missing > coming && !this.current) return this.decide(Promise.resolve(false));
    this.gatherTimer ??= setTimeout(() => {
      this.gatherTimer = undefined;
      this.decide(Promise.resolve(false));
    }, GATHER_MS);
  }

  private decide(inRun: Promise<boolean>): void {
    clearTimeout(this.gatherTimer);
    this.gatherTimer = undefined;
    for (const m of this.gathering.splice(0)) m.decide!(inRun);
  }

  /** Starts a run of `members`; resolves whether it started (each member's `run.started`). */
  private begin(members: Member[]): Promise<boolean> {
    // In sequence-id order, as step batching orders node-llama-cpp's batches: llama.cpp
    // evaluates a batch as one ubatch only while sequence ids increase by one.
    members.sort((a, b) => a.s._sequenceId - b.s._sequenceId);
    const run: Run = { members, stopAsked: false, started: Promise.resolve(false) };
    members.forEach((m, i) => {
      m.run = run;
      m.index = i;
    });
    this.current = run;
    run.started = this.launch(run).then(
      (ok) => {
        if (!ok) this.ended();
        return ok;
      },
      (err: unknown) => {
        this.ended();
        throw err;
      },
    );
    return run.started;
  }

  /** A run that did not start: the members gathering meanwhile may start one. */
  private ended(): void {
    this.current = undefined;
    this.gather();
  }

  private async launch(run: Run): Promise<boolean> {
    const locks: Lock[] = [];
    const release = () => {
      for (const l of locks.reverse()) l.dispose();
    };
    try {
      for (const m of run.members) locks.push(await acquireLock([m.s._lock, 'evaluate'] as const));
      locks.push(await acquireLock([this.context, 'context'] as const));
    } catch (err) {
      release();
      throw err;
    }
    const ms = run.members;
    for (const m of ms) {
      m.start = m.s._nextTokenIndex;
      // Each decode posts one token; the last one the consumer takes is not decoded.
      m.limit = Math.min(this.context.contextSize - 1, m.start + m.left);
    }
    if (run.stopAsked || !this.quiet() || ms.some((m) => m.start >= m.limit)) {
      release();
      return false;
    }
    run.release = release;
    // Alone, a run decodes ahead of its consumer; together, each step waits for every consumer.
    const ahead = ms.length === 1 ? MAX_AHEAD : 1;
    try {
      run.handle = this.api.run(this.ctxId, Int32Array.from(ms, (m) => m.s._sequenceId), Int32Array.from(ms, (m) => m.start), Int32Array.from(ms, (m) => m.first), ms.map((m) => m.sampler), Int32Array.from(ms, (m) => m.limit), ahead, (kind, index, value) => this.message(run, kind, index, value), this.oneTokenThreads);
    } catch (err) {
      run.release = undefined;
      release();
      throw err;
    }
    return true;
  }

  private message(run: Run, kind: 0 | 1 | 2, index: number, value: number): void {
    if (kind === 1) {
      run.status = value;
      for (const m of run.members) m.wake?.();
      this.settle(run);
      return;
    }
    const m = run.members[index]!;
    if (m.done) {
      this.api.ack(run.handle!);
      return;
    }
    // Posting `value` means its input is in the KV cache: node-llama-cpp's bookkeeping follows.
    const s = m.s;
    s._contextTokens.push(m.posted.at(-1) ?? m.first);
    s._nextTokenIndex++;
    s._tokenMeter.useTokens(1, 'output');
    m.posted.push(value as Token);
    m.unacked++;
    m.eog = kind === 2;
    if (m.eog || s._nextTokenIndex >= m.limit) m.ended = true;
    m.wake?.();
  }

  /** The run's locks go once it has ended and every member has finished with it. */
  private settle(run: Run): void {
    if (run.status === undefined || !run.members.every((m) => m.done)) return;
    if (this.current === run) this.current = undefined;
    run.release?.();
    run.release = undefined;
    this.gather();
  }

  /**
   * Yields `m`'s tokens from its run. Returns the tokens to evaluate next, or null when
   * the generation ended.
   */
  private async *take(m: Member): AsyncGenerator<Step, Token[] | null, Reply> {
    const run = m.run!;
    const arrival = () => new Promise<void>((resolve) => (m.wake = resolve));
    let next: Token[] | null = null;
    try {
      for (;;) {
        if (m.taken === m.posted.length) {
          if (run.status === undefined && !m.ended) {
            await arrival();
            continue;
          }
          if (run.status !== undefined && run.status !== 0) throw new Error(run.status === 1 ? 'could not find a KV slot for the batch (try reducing the size of the batch or increase the context)' : 'Eval has failed');
          return (next = [m.posted.at(-1) ?? m.first]);
        }
        const token = m.posted[m.taken++]!;
        if (!m.yieldEog && m.eog && m.taken === m.posted.length) return null;
        m.given.n++;
        const reply = yield { token };
        if (reply != null && (Array.isArray(reply) || reply !== token)) return (next = nextTokens(reply, token));
        this.ack(m);
      }
    } finally {
      await this.leave(m, next !== null);
    }
  }

  private ack(m: Member): void {
    if (m.unacked === 0) return;
    m.unacked--;
    this.api.ack(m.run!.handle!);
  }

  /** `m` takes no further part in its run; `goesOn`: its generation continues (as node-llama-cpp steps or a new run). */
  private async leave(m: Member, goesOn: boolean): Promise<void> {
    const run = m.run!;
    if (run.status === undefined) this.api.leave(run.handle!, m.index);
    // A run alone may have decoded past the token its consumer took last; a generation that
    // goes on must not wait for the other members' generations to end; the last member left
    // generating goes on alone, ahead of its consumer.
    const others = run.members.filter((o) => o !== m && !o.done && !o.ended).length;
    if ((run.members.length === 1 || goesOn || others === 1) && run.status === undefined) {
      this.api.stop(run.handle!);
      while (run.status === undefined) await new Promise<void>((resolve) => (m.wake = resolve));
    }
    // The consumer has the `taken` tokens; the last of them is not in the KV cache yet (as
    // after node-llama-cpp's own steps), nor is anything the thread decoded after it. Only
    // with no step running: a step waits for this member's unacked token, or the run has ended.
    const keep = m.start + m.taken;
    const s = m.s;
    if (s._nextTokenIndex > keep) {
      this.api.forget(this.ctxId, s._sequenceId, keep);
      s._nextTokenIndex = keep;
      s._contextTokens = s._contextTokens.slice(0, keep);
    }
    m.done = true;
    while (m.unacked > 0) this.ack(m);
    this.settle(run);
  }
}

/** What node-llama-cpp evaluates after a yielded token: the consumer's replacement, or the token. */
function nextTokens(reply: Reply, token: Token): Token[] {
  return Array.isArray(reply) ? reply.slice() : reply != null ? [reply] : [token];
}
