/**
 * A call this long (µs, one row, probed at load) keeps the cores busier than the event loop:
 * the request work around it (decode, encode, routing) is tens of µs per call, so the model
 * gets every core (the 1024→2048→2048→1000 MLP of the bench: ~0.9 ms a row).
 */
export const HEAVY_CALL_MICROS = 500;
/**
 * The share of the machine's memory that a model's replicas may hold together: a larger model
 * gets fewer replicas, each more threads. Generous because a replica's measured size is the
 * process's growth while it loaded, which models loading beside it inflate.
 */
export const REPLICA_MEMORY_SHARE = 0.25;

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
  /** The most replicas autoscaling may run (`replicas` without autoscaling): they share the cores. */
  maxReplicas: number;
  /** The user set intra-op threads (config, runtime args or env): theirs stand. */
  explicit: boolean;
  /** The user set replicas (minReplicas above 1, or autoscaling): the count stands. */
  replicasFixed: boolean;
  /** What one replica holds (bytes), measured after load. */
  memoryBytes: number;
  /** The machine's memory (bytes). */
  totalMemory: number;
}

/**
 * Threads and replicas of a model from its measured cost and the core count. A heavy model
 * gets one single-threaded replica per core where its size allows (fewer, multi-threaded, where
 * the copies would exceed REPLICA_MEMORY_SHARE of the memory): each replica runs its own
 * calls (and batches), where intra-op threads of one call all wait for the slowest, which a
 * busy event loop on the same cores delays (measured: the bench MLP at 64 JSON clients was
 * slower with 2 intra-op threads than with 1 on 2 cores; 2 replicas were not).
 */
export function chooseThreads(i: ThreadInputs): ThreadDecision {
  const keep = (reason: string): ThreadDecision => ({ intraOp: i.intraOp, replicas: i.replicas, reason });
  if (i.explicit) return keep('intra-op threads set by the user');
  if (i.probeMicros === undefined) return keep('cost not measurable at load (text inputs, huge shapes or an error): server default');
  if (i.probeMicros < HEAVY_CALL_MICROS) return keep(`light model (< ${HEAVY_CALL_MICROS} µs a call): the event loop keeps a core`);
  const heavy = `heavy model (>= ${HEAVY_CALL_MICROS} µs a call)`;
  const fit = Math.min(i.cores, Math.floor((REPLICA_MEMORY_SHARE * i.totalMemory) / Math.max(1, i.memoryBytes)));
  if (!i.replicasFixed && fit >= 2) {
    const intraOp = Math.floor(i.cores / fit);
    const how = intraOp === 1 ? 'one single-threaded replica per core' : `${fit} replicas of ${intraOp} threads (as many copies as fit in ${REPLICA_MEMORY_SHARE * 100}% of memory)`;
    return { intraOp, replicas: fit, reason: `${heavy}: ${how} (${i.cores} cores)` };
  }
  // Replicas share the cores: together, at the most autoscaling runs, they use each core once.
  const share = Math.max(i.replicas, i.maxReplicas);
  const intraOp = Math.max(1, Math.floor(i.cores / share));
  return { intraOp, replicas: i.replicas, reason: `${heavy}: up to ${share} replica(s) share all ${i.cores} cores as intra-op threads` };
}
