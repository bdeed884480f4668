import type { NumericArray, TensorData } from '../api/datatype.js';
import type { Tensor, TensorSpec } from '../api/inference.js';

/** Requests merge only when their inputs agree on everything but the batch dimension. */
export function batchKey(inputs: readonly Tensor[], outputNames: readonly string[]): string {
  const parts = inputs.map((t) => `${t.name}:${t.datatype}:${t.shape.slice(1).join('x')}`).sort();
  return `${parts.join('|')}>${outputNames.join(',')}`;
}

/** A model can batch when every input and output has a dynamic first dimension. */
export function canBatch(inputs: readonly TensorSpec[], outputs: readonly TensorSpec[]): boolean {
  return inputs.length > 0 && [...inputs, ...outputs].every((s) => s.shape.length > 0 && s.shape[0] === -1);
}

/** Rows a request contributes: the first dimension of its inputs (they must agree). */
export function rowsOf(inputs: readonly Tensor[]): number | undefined {
  const rows = inputs[0]?.shape[0];
  return rows !== undefined && inputs.every((t) => t.shape[0] === rows) ? rows : undefined;
}

function concatData(parts: TensorData[]): TensorData {
  const first = parts[0]!;
  if (Array.isArray(first)) return (parts as Uint8Array[][]).flat();
  const total = parts.reduce((n, p) => n + p.length, 0);
  const Ctor = (first as NumericArray).constructor as new (n: number) => NumericArray;
  const out = new Ctor(total);
  let at = 0;
  for (const p of parts as NumericArray[]) {
    (out as Float64Array).set(p as Float64Array, at);
    at += p.length;
  }
  return out;
}

/** Stacks the requests' inputs along the first dimension, in request order. */
export function concatInputs(batch: readonly (readonly Tensor[])[]): Tensor[] {
  const first = batch[0]!;
  if (batch.length === 1) return [...first];
  return first.map((t) => {
    const parts = batch.map((inputs) => inputs.find((x) => x.name === t.name)!);
    const rows = parts.reduce((n, p) => n + p.shape[0]!, 0);
    return { name: t.name, datatype: t.datatype, shape: [rows, ...t.shape.slice(1)], data: concatData(parts.map((p) => p.data)) };
  });
}

/** Cuts batched outputs back into one list per request, by each request's row count. */
export function splitOutputs(outputs: readonly Tensor[], rows: readonly number[]): Tensor[][] {
  const total = rows.reduce((a, b) => a + b, 0);
  for (const o of outputs) {
    if (o.shape[0] !== total) throw new Error(`output ${o.name} has ${o.shape[0]} rows for a batch of ${total}`);
  }
  const result: Tensor[][] = rows.map(() => []);
  for (const o of outputs) {
    const stride = total === 0 ? 0 : o.data.length / total;
    let row = 0;
    rows.forEach((n, i) => {
      const data = (o.data as NumericArray).subarray ? (o.data as NumericArray).subarray(row * stride, (row + n) * stride) : (o.data as Uint8Array[]).slice(row * stride, (row + n) * stride);
      result[i]!.push({ name: o.name, datatype: o.datatype, shape: [n, ...o.shape.slice(1)], data });
      row += n;
    });
  }
  return result;
}
