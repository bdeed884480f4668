import { availableParallelism } from 'node:os';
import type { PredictorSpec } from '../api/resources/inference-service.js';
import type { Config } from '../config/config.js';
import type { EndpointOptions } from '../serving/model-endpoint.js';

/** Annotation on an InferenceService that turns its prediction cache on. */
export const CACHE_ANNOTATION = 'inferd.dev/prediction-cache';

/** KServe's predictor fields (batcher, containerConcurrency, timeout) over the server's defaults. */
export function endpointOptions(predictor: PredictorSpec, config: Config, annotations: Record<string, string> = {}): EndpointOptions {
  const s = config.serving;
  const replicas = Math.max(1, predictor.minReplicas ?? 1);
  const options: EndpointOptions = {
    // Knative's queue-proxy holds 10 × containerConcurrency requests; so does inferd when it is set.
    scheduler: { maxQueue: predictor.containerConcurrency ? 10 * predictor.containerConcurrency : s.maxQueue, concurrency: predictor.containerConcurrency || s.concurrency * replicas },
    timeoutMs: (predictor.timeout ?? s.requestTimeoutSeconds) * 1000,
    plannedReplicas: replicas,
  };
  if (predictor.containerConcurrency) options.scheduler.concurrencySet = true;
  if (predictor.minReplicas === 0) options.onDemand = true;
  // Autoscaling is asked for by a maxReplicas above minReplicas (0 means as many as there are cores).
  if (predictor.maxReplicas !== undefined) {
    const max = predictor.maxReplicas === 0 ? availableParallelism() : predictor.maxReplicas;
    const perReplica = predictor.batcher ? 1 : s.concurrency;
    options.autoscale = {
      min: replicas,
      max,
      target: predictor.scaleTarget ?? perReplica,
      metric: predictor.scaleMetric === 'rps' ? 'rps' : 'concurrency',
      stableWindowMs: s.stableWindowSeconds * 1000,
      panicWindowMs: s.panicWindowSeconds * 1000,
      tickMs: s.autoscaleTickSeconds * 1000,
      perReplicaConcurrency: perReplica,
    };
  }
  if (annotations[CACHE_ANNOTATION] === 'true') options.cache = { maxBytes: s.cacheMaxBytes, ttlMs: s.cacheTtlSeconds * 1000 };
  if (predictor.batcher) {
    // KServe waits up to maxLatency for a batch to fill; without it inferd batches what arrived in the same event-loop turn.
    options.scheduler.batch = { maxBatchSize: predictor.batcher.maxBatchSize ?? 32, maxLatencyMs: predictor.batcher.maxLatency ?? 0 };
    // One call at a time lets waiting requests gather into the next batch.
    if (!predictor.containerConcurrency) options.scheduler.concurrency = replicas;
  }
  return options;
}
