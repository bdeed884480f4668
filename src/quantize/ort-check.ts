/**
 * What onnxruntime-node says about a model: whether it loads, and the element type of
 * every tensor in the graph (ONNX Runtime's own type inference, which the FP16 rewrite
 * needs to know which intermediate tensors are float).
 */
import * as ort from 'onnxruntime-node';
import { cloneModel, encodeModel, graphOf, type Model } from './onnx-model.js';

const QUIET = { logSeverityLevel: 3 as const };

export async function openSession(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { ...QUIET, ...options });
}

/** Loads the model in onnxruntime-node (CPU, all optimizations); returns the error text when it does not load. */
export async function loadError(bytes: Uint8Array): Promise<string | undefined> {
  try {
    const s = await openSession(bytes, { graphOptimizationLevel: 'all' });
    await s.release();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Element types (ORT names: float32, int64, ...) of graph inputs, initializers and every node
 * output, found by listing each node output as an untyped graph output of a copy of the model
 * and reading the session's output metadata. Non-tensor values are absent from the map.
 */
export async function tensorTypes(model: Model): Promise<Map<string, string>> {
  const copy = cloneModel(model);
  const g = graphOf(copy);
  const listed = new Set(g.output.map((o) => o.name ?? ''));
  for (const n of g.node) {
    for (const o of n.output ?? []) {
      if (o && !listed.has(o)) {
        g.output.push({ name: o });
        listed.add(o);
      }
    }
  }
  const session = await openSession(encodeModel(copy), { graphOptimizationLevel: 'disabled' });
  try {
    const types = new Map<string, string>();
    for (const m of [...session.inputMetadata, ...session.outputMetadata]) if (m.isTensor) types.set(m.name, m.type);
    return types;
  } finally {
    await session.release();
  }
}
