import { invalidInput } from '../../api/errors.js';
import { elementCount, type InferRequest, type Tensor, type TensorSpec } from '../../api/inference.js';
import { flatten, fromValues, nest, toValues } from '../tensor-values.js';

const MAX_RANK = 32;

/** The shape of nested arrays, read along first elements; ragged rows are caught by the count check. */
function shapeOfNested(value: unknown): number[] {
  const shape: number[] = [];
  let cur = value;
  while (Array.isArray(cur)) {
    if (shape.length > MAX_RANK) throw invalidInput(`instances: nested deeper than ${MAX_RANK} levels`, 'instances');
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

function tensorFrom(spec: TensorSpec, rows: unknown[], field: string): Tensor {
  const shape = shapeOfNested(rows);
  const flat = flatten(rows, shape.length, field);
  if (flat.length !== elementCount(shape)) throw invalidInput(`${field}: rows are ragged; every instance must have the same shape`, field);
  return { name: spec.name, datatype: spec.datatype, shape, data: fromValues(spec.datatype, flat, field) };
}

/**
 * KServe V1 for tensor models: `instances` (or `inputs`) is a batch of rows for
 * the model's single input, or a batch of objects keyed by input name.
 */
export function decodeV1Request(body: unknown, inputs: readonly TensorSpec[]): InferRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidInput('request body must be a JSON object with "instances"', 'body');
  const b = body as Record<string, unknown>;
  const key = b.instances !== undefined ? 'instances' : 'inputs';
  const instances = b[key];
  if (!Array.isArray(instances) || instances.length === 0) throw invalidInput('instances: expected a non-empty array', 'instances');
  const first = instances[0];
  if (typeof first === 'object' && first !== null && !Array.isArray(first)) {
    return {
      inputs: inputs.map((spec) => {
        const rows = instances.map((row: Record<string, unknown>, i) => {
          if (typeof row !== 'object' || row === null || !(spec.name in row)) throw invalidInput(`${key}[${i}]: missing input "${spec.name}"`, `${key}[${i}]`);
          return row[spec.name];
        });
        return tensorFrom(spec, rows, `${key}.${spec.name}`);
      }),
    };
  }
  if (inputs.length !== 1) {
    throw invalidInput(`${key}: the model has ${inputs.length} inputs; send each instance as an object keyed by ${inputs.map((i) => `"${i.name}"`).join(', ')}`, key);
  }
  return { inputs: [tensorFrom(inputs[0]!, instances, key)] };
}

/** One prediction per row of the first dimension; several outputs give one object per row. */
export function encodeV1Response(outputs: readonly Tensor[]): { predictions: unknown[] } {
  const perOutput = outputs.map((t) => {
    const nested = nest(toValues(t), t.shape);
    return Array.isArray(nested) ? nested : [nested];
  });
  if (outputs.length === 1) return { predictions: perOutput[0]! };
  const rows = perOutput[0]?.length ?? 0;
  const predictions = [];
  for (let i = 0; i < rows; i++) predictions.push(Object.fromEntries(outputs.map((t, j) => [t.name, perOutput[j]![i]])));
  return { predictions };
}
