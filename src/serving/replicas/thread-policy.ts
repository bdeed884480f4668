/**
 * A call this long (µs, one row, probed at load) keeps the cores busier than the event loop:
 * the request work around it (decode, encode, routing) is tens of µs per call, so the model
 * gets every core (the 1024→2048→2048→1000 MLP of the bench: ~0.9 ms a row). Below it the model is cheap and the event loop keeps a core of its own.
 */
export const HEAVY_CALL_MICROS = 500;

export interface ThreadDecision {
  /** Intra-op threads of each replica. */
  intraOp: number;
  replicas: number;
  /** Why, for the load log. */
  reason: string;
}

export interface ThreadInputs {
  /** The model's probed one-row cost (µs), or undefined when it could not be probed. */
  probeMicros: number | undefined;
  cores: number;
  /** The intra-op threads the model loaded with (the server default or the user's). */
  intraOp: number;
  replicas: number;
  /** The user set intra-op threads (config, runtime args or env): theirs stands. */
  explicit: boolean;
}

/**
 * Threads and replicas of a model from its measured cost and the core count. A heavy model
 * takes every core as intra-op threads of its replica rather than more replicas: one replica
 * holds one copy of the weights, and its batches (dynamic batching) parallelise inside each op.
 */
export function chooseThreads(i: ThreadInputs): ThreadDecision {
  const keep = (reason: string): ThreadDecision => ({ intraOp: i.intraOp, replicas: i.replicas, reason });
  if (i.explicit) return keep('intra-op threads set by the user');
  if (i.probeMicros === undefined) return keep('cost not measurable at load (text inputs, huge shapes or an error): server default');
  if (i.probeMicros < HEAVY_CALL_MICROS) return keep(`light model (< ${HEAVY_CALL_MICROS} µs a call): the event loop keeps a core`);
  // Replicas share the cores: together they use each core once.
  const intraOp = Math.max(1, Math.floor(i.cores / i.replicas));
  return { intraOp, replicas: i.replicas, reason: `heavy model (>= ${HEAVY_CALL_MICROS} µs a call): its replicas take all ${i.cores} cores` };
}
