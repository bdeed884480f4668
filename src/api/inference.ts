import type { Datatype, TensorData } from './datatype.js';

export type ParameterValue = string | number | boolean;
export type Parameters = Record<string, ParameterValue>;

export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
  parameters?: Parameters;
}

/** A tensor's declared signature; -1 marks a dynamic dimension. */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  shape: number[];
}

export interface RequestedOutput {
  name: string;
  parameters?: Parameters;
}

export interface InferRequest {
  id?: string;
  inputs: Tensor[];
  outputs?: RequestedOutput[];
  parameters?: Parameters;
  /** Absolute time (ms since epoch) after which the work is worthless. */
  deadline?: number;
}

export interface InferResponse {
  modelName: string;
  modelVersion?: string;
  id?: string;
  outputs: Tensor[];
  parameters?: Parameters;
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
