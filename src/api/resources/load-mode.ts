import { InferdError } from '../errors.js';
import type { InferenceService } from './inference-service.js';

/**
 * When a `minReplicas: 0` (on-demand) model first loads: `lazy` waits for its first request
 * (ModelMesh's behaviour; status Standby, Ready), `eager` loads at start or apply. Either way
 * it unloads when idle or evicted and loads again on the next request.
 */
export const LOAD_ANNOTATION = 'inferd.dev/load';
export const LOAD_MODES = ['lazy', 'eager'] as const;
export type LoadMode = (typeof LOAD_MODES)[number];

/** The annotation's mode, else the server's default (`serving.onDemandLoad`). */
export function loadModeOf(annotations: Record<string, string> | undefined, fallback: LoadMode): LoadMode {
  const v = annotations?.[LOAD_ANNOTATION];
  return v === 'lazy' || v === 'eager' ? v : fallback;
}

/** Apply-time check: a known value, and `lazy` only where the model can be unloaded (minReplicas 0). */
export function checkLoadAnnotation(isvc: InferenceService): void {
  const v = isvc.metadata.annotations?.[LOAD_ANNOTATION];
  if (v === undefined) return;
  const field = `metadata.annotations.${LOAD_ANNOTATION}`;
  if (!(LOAD_MODES as readonly string[]).includes(v)) {
    throw new InferdError('invalid_input', `InferenceService "${isvc.metadata.name}": field ${field}: must be one of ${LOAD_MODES.join(', ')}`, { field });
  }
  if (v === 'lazy' && isvc.spec.predictor.minReplicas !== 0) {
    throw new InferdError('invalid_input', `InferenceService "${isvc.metadata.name}": field ${field}: "lazy" needs spec.predictor.minReplicas: 0 (a model with replicas stays loaded)`, { field });
  }
}
