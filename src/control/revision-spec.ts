import { createHash } from 'node:crypto';
import type { InferenceService, PredictorSpec } from '../api/resources/inference-service.js';

/** The main predictor's variant name in the revision table. */
export const MAIN = '';

export interface Variant {
  name: string;
  /** The predictor this variant runs (a canary entry merged over the stable predictor). */
  predictor: PredictorSpec;
  /** spec.canary[] share; undefined for the main predictor. */
  percent?: number;
}

/**
 * What makes a revision: the predictor minus traffic settings, as Knative keeps
 * traffic out of its configuration. Changing only canaryTrafficPercent creates no revision.
 */
export function revisionSpec(predictor: PredictorSpec): PredictorSpec {
  const { canaryTrafficPercent: _traffic, ...rest } = predictor;
  return rest;
}

export function specHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** JSON with sorted keys, so equal specs hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The main predictor and each spec.canary[] entry, fields of an entry overriding the stable predictor. */
export function variantsOf(isvc: InferenceService): Variant[] {
  const stable = revisionSpec(isvc.spec.predictor);
  const canaries = (isvc.spec.canary ?? []).map((entry, i): Variant => {
    const { model: overModel, ...over } = entry.predictor;
    const predictor: PredictorSpec = { ...stable, ...over };
    // A partial model without a main one to merge over is refused by the manifest validator.
    if (overModel) predictor.model = { ...stable.model, ...overModel } as NonNullable<PredictorSpec['model']>;
    delete predictor.name;
    return { name: over.name ?? `canary-${i}`, predictor: revisionSpec(predictor), percent: entry.trafficPercent };
  });
  return [{ name: MAIN, predictor: stable }, ...canaries];
}

export function revisionName(isvc: string, variant: string, number: number): string {
  return `${isvc}${variant ? `-${variant}` : ''}-predictor-${String(number).padStart(5, '0')}`;
}
