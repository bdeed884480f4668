import { invalidInput, quote } from '../api/errors.js';
import { elementCount, type InferRequest, type TensorSpec } from '../api/inference.js';
import { acceptedDatatypes, castToDeclared } from './reference-casts.js';

export interface Signature {
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
  /** The model's platform, which decides the numeric conversions it accepts (see reference-casts.ts). */
  platform?: string;
}

/**
 * Checks a decoded request against the model's signature before it reaches a
 * runtime, and returns the output names to compute. Every message names the tensor.
 * A numeric input the model's reference library would convert is replaced in
 * `req.inputs` by its converted copy (reference-casts.ts), so batching, caching and the
 * runtime see the declared datatype, or one its runtime converts itself.
 */
export function validateRequest(req: InferRequest, sig: Signature): string[] {
  // Custom models may declare no signature; they then check their own inputs.
  if (sig.inputs.length === 0) return (req.outputs ?? []).map((o) => o.name);
  const seen = new Set<string>();
  for (const [i, input] of req.inputs.entries()) {
    let t = input;
    if (seen.has(t.name)) throw invalidInput(`input "${quote(t.name)}" appears more than once`, 'inputs');
    seen.add(t.name);
    const spec = sig.inputs.find((s) => s.name === t.name);
    if (!spec) throw invalidInput(`unknown input "${quote(t.name)}"; the model's inputs are ${names(sig.inputs)}`, 'inputs');
    if (spec.datatype !== t.datatype) {
      const cast = castToDeclared(t, spec.datatype, sig.platform);
      if (!cast) {
        const accepted = acceptedDatatypes(sig.platform, spec.datatype);
        const which = accepted.length > 1 ? `; it accepts ${accepted.join(', ')}` : '';
        throw invalidInput(`input "${quote(t.name)}": datatype ${t.datatype} does not match the model's ${spec.datatype}${which}`, 'datatype');
      }
      t = cast;
      req.inputs[i] = cast;
    }
    if (!shapeMatches(spec.shape, t.shape)) {
      throw invalidInput(`input "${quote(t.name)}": shape [${t.shape.join(',')}] does not match the model's [${spec.shape.join(',')}] (-1 is any size)`, 'shape');
    }
    if (t.data.length !== elementCount(t.shape)) {
      throw invalidInput(`input "${quote(t.name)}": ${t.data.length} elements do not fill shape [${t.shape.join(',')}]`, 'data');
    }
  }
  const missing = sig.inputs.filter((s) => !seen.has(s.name));
  if (missing.length) throw invalidInput(`missing input ${names(missing)}`, 'inputs');
  if (!req.outputs || req.outputs.length === 0) return sig.outputs.map((o) => o.name);
  return req.outputs.map((o) => {
    if (sig.outputs.length && !sig.outputs.some((s) => s.name === o.name)) {
      throw invalidInput(`unknown output "${quote(o.name)}"; the model's outputs are ${names(sig.outputs)}`, 'outputs');
    }
    return o.name;
  });
}

function shapeMatches(spec: readonly number[], shape: readonly number[]): boolean {
  // A model that declares no shape (rank unknown) accepts any.
  if (spec.length === 0 && shape.length !== 0) return false;
  if (spec.length !== shape.length) return false;
  return spec.every((d, i) => d < 0 || d === shape[i]);
}

function names(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `"${s.name}"`).join(', ');
}
