import { InferdError, invalidInput } from '../../api/errors.js';
import type { Tensor, TensorSpec } from '../../api/inference.js';
import type { LoadedModel } from '../types.js';

type FloatArray = Float32Array | Float64Array;

export interface TreeModelConfig {
  platform: string;
  precision: 'f32' | 'f64';
  nFeatures: number;
  /** Values per row of `predict`: 1 gives shape [-1], more gives [-1, width]. */
  width: number;
  /** Row-major batch → row-major predictions (n × width), freshly allocated. */
  predict(X: FloatArray, nRows: number): FloatArray;
  bytes: number;
}

export const INPUT_NAME = 'input-0';
export const OUTPUT_NAME = 'predict';

/** A loaded tree ensemble: one 2-D float input, one `predict` output, V1 like KServe's servers. */
export class TreeModel implements LoadedModel {
  readonly platform: string;
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  private readonly datatype: 'FP32' | 'FP64';

  constructor(private readonly cfg: TreeModelConfig) {
    this.platform = cfg.platform;
    this.datatype = cfg.precision === 'f32' ? 'FP32' : 'FP64';
    this.inputs = [{ name: INPUT_NAME, datatype: this.datatype, shape: [-1, cfg.nFeatures] }];
    this.outputs = [{ name: OUTPUT_NAME, datatype: this.datatype, shape: cfg.width === 1 ? [-1] : [-1, cfg.width] }];
  }

  async infer(inputs: Tensor[], outputNames: string[]): Promise<Tensor[]> {
    const input = inputs.find((t) => t.name === INPUT_NAME) ?? inputs[0];
    if (!input) throw invalidInput(`input ${INPUT_NAME} is required`, 'inputs');
    const nf = this.cfg.nFeatures;
    const shape = input.shape;
    if (shape.length !== 2 || shape[1] !== nf) {
      throw invalidInput(`input ${INPUT_NAME} must have shape [rows, ${nf}], got [${shape.join(', ')}]`, 'inputs[0].shape');
    }
    const n = shape[0]!;
    const X = this.toFloat(input.data, n * nf);
    const out = this.cfg.predict(X, n);
    const result: Tensor = {
      name: OUTPUT_NAME,
      datatype: this.datatype,
      shape: this.cfg.width === 1 ? [n] : [n, this.cfg.width],
      data: out,
    };
    return outputNames.map((name) => {
      if (name !== OUTPUT_NAME) throw invalidInput(`unknown output "${name}"; this model has "${OUTPUT_NAME}"`, 'outputs');
      return result;
    });
  }

  private toFloat(data: Tensor['data'], count: number): FloatArray {
    if (this.cfg.precision === 'f32' && data instanceof Float32Array) return checkLength(data, count);
    if (this.cfg.precision === 'f64' && data instanceof Float64Array) return checkLength(data, count);
    if (Array.isArray(data)) throw invalidInput(`input ${INPUT_NAME} must be numeric`, 'inputs[0].datatype');
    const out = this.cfg.precision === 'f32' ? new Float32Array(count) : new Float64Array(count);
    checkLength(data as FloatArray, count);
    for (let i = 0; i < count; i++) out[i] = Number((data as ArrayLike<number | bigint>)[i]);
    return out;
  }

  /**
   * KServe V1: `{"instances": [[...], ...]}` (or `inputs`), null for a missing
   * value; returns `{"predictions": [...]}` as booster.predict().tolist() would.
   */
  async predictV1(body: unknown): Promise<unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw invalidInput('V1 request body must be a JSON object with "instances"');
    }
    const b = body as Record<string, unknown>;
    const field = b.instances !== undefined ? 'instances' : 'inputs';
    const rows = b[field];
    if (!Array.isArray(rows)) throw invalidInput('V1 request needs "instances": an array of feature rows', field);
    const nf = this.cfg.nFeatures;
    const n = rows.length;
    const X = this.cfg.precision === 'f32' ? new Float32Array(n * nf) : new Float64Array(n * nf);
    for (let r = 0; r < n; r++) {
      const row: unknown = rows[r];
      if (!Array.isArray(row)) throw invalidInput(`${field}[${r}] must be an array of ${nf} numbers`, `${field}[${r}]`);
      if (row.length !== nf) throw invalidInput(`${field}[${r}] has ${row.length} features; the model takes ${nf}`, `${field}[${r}]`);
      for (let j = 0; j < nf; j++) {
        const v: unknown = row[j];
        if (typeof v === 'number') X[r * nf + j] = v;
        else if (v === null) X[r * nf + j] = NaN;
        else throw invalidInput(`${field}[${r}][${j}] must be a number or null`, `${field}[${r}][${j}]`);
      }
    }
    const out = this.cfg.predict(X, n);
    const w = this.cfg.width;
    const predictions: unknown[] = new Array(n);
    for (let r = 0; r < n; r++) {
      if (w === 1) predictions[r] = jsonNumber(out[r]!);
      else {
        const p = new Array<number | null>(w);
        for (let k = 0; k < w; k++) p[k] = jsonNumber(out[r * w + k]!);
        predictions[r] = p;
      }
    }
    return { predictions };
  }

  memoryBytes(): number {
    return this.cfg.bytes;
  }

  async unload(): Promise<void> {}
}

function checkLength<T extends FloatArray>(data: T, count: number): T {
  if (data.length !== count) throw new InferdError('invalid_input', `input ${INPUT_NAME} holds ${data.length} values, its shape says ${count}`);
  return data;
}

/** JSON has no NaN/Infinity; they become null as in Python's json with allow_nan off would refuse. */
function jsonNumber(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}
