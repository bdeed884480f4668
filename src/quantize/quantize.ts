/**
 * `quantizeModel`: the whole conversion — decode, rewrite (INT8 or FP16), check that the
 * result loads in onnxruntime-node, and measure the accuracy given up against the original.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { InferdError } from '../api/errors.js';
import { compareModels, type AccuracyOptions, type AccuracyReport } from './accuracy.js';
import { convertFp16, DEFAULT_FP16_BLOCK_LIST, type Fp16Summary } from './fp16.js';
import { quantizeInt8, type Int8Summary } from './int8.js';
import { cloneModel, decodeModel, encodeModel } from './onnx-model.js';
import { loadError, tensorTypes } from './ort-check.js';

export type QuantizeMode = 'int8' | 'fp16';

export interface QuantizeOptions {
  mode: QuantizeMode;
  /** INT8: one weight scale per output column. */
  perChannel?: boolean;
  /** FP16: graph inputs and outputs in FP16 too (default: kept FP32). */
  ioFp16?: boolean;
  /** FP16: op types kept in FP32, replacing the default list. */
  blockOps?: string[];
  /** Accuracy measurement against the original; false skips it. */
  evaluate?: boolean | AccuracyOptions;
  /** Name used in error messages. */
  source?: string;
}

export interface QuantizeResult {
  mode: QuantizeMode;
  perChannel: boolean;
  ioFp16: boolean;
  bytes: Uint8Array;
  sizeBefore: number;
  sizeAfter: number;
  int8?: Int8Summary;
  fp16?: Fp16Summary & { blockOps: string[]; addedToBlockList: string[] };
  accuracy?: AccuracyReport;
}

/** Op types named in onnxruntime's "no kernel" and type-check errors. */
function opInLoadError(message: string): string | undefined {
  return /Could not find an implementation for (\w+)\(/.exec(message)?.[1] ?? /of operator \((\w+)\)/.exec(message)?.[1];
}

const MAX_BLOCK_RETRIES = 8;

export async function quantizeModel(input: Uint8Array, opts: QuantizeOptions): Promise<QuantizeResult> {
  const source = opts.source ?? 'model';
  if (opts.mode !== 'int8' && opts.mode !== 'fp16') throw new InferdError('invalid_input', `mode must be int8 or fp16, got "${String(opts.mode)}"`);
  if (opts.mode === 'int8' && opts.ioFp16) throw new InferdError('invalid_input', '--io-fp16 applies to --fp16 only; INT8 models keep FP32 inputs and outputs');
  if (opts.mode === 'fp16' && opts.perChannel) throw new InferdError('invalid_input', '--per-channel applies to --int8 only');
  const original = decodeModel(input, source);
  const inputError = await loadError(input);
  if (inputError !== undefined) throw new InferdError('invalid_input', `${source}: onnxruntime-node cannot load the input model: ${inputError.slice(0, 400)}`);

  const result: QuantizeResult = {
    mode: opts.mode, perChannel: opts.perChannel ?? false, ioFp16: opts.ioFp16 ?? false,
    bytes: new Uint8Array(), sizeBefore: input.byteLength, sizeAfter: 0,
  };
  if (opts.mode === 'int8') {
    const model = cloneModel(original);
    result.int8 = quantizeInt8(model, { perChannel: result.perChannel });
    result.bytes = encodeModel(model);
    const err = await loadError(result.bytes);
    if (err !== undefined) throw new InferdError('internal', `the INT8 model does not load in onnxruntime-node: ${err.slice(0, 400)}`);
  } else {
    const types = await tensorTypes(original);
    const blockOps = new Set(opts.blockOps ?? DEFAULT_FP16_BLOCK_LIST);
    const added: string[] = [];
    for (let attempt = 0; ; attempt++) {
      const model = cloneModel(original);
      const summary = convertFp16(model, types, { ioFp16: result.ioFp16, blockOps });
      const bytes = encodeModel(model);
      const err = await loadError(bytes);
      if (err === undefined) {
        result.bytes = bytes;
        result.fp16 = { ...summary, blockOps: [...blockOps], addedToBlockList: added };
        break;
      }
      // An op with no FP16 kernel (or no float16 in its type constraints): keep it in FP32 and retry.
      const op = opInLoadError(err);
      if (!op || blockOps.has(op) || attempt >= MAX_BLOCK_RETRIES) {
        throw new InferdError('internal', `the FP16 model does not load in onnxruntime-node: ${err.slice(0, 400)}`);
      }
      blockOps.add(op);
      added.push(op);
    }
  }
  result.sizeAfter = result.bytes.byteLength;
  if (opts.evaluate !== false) {
    result.accuracy = await compareModels(input, result.bytes, typeof opts.evaluate === 'object' ? opts.evaluate : {});
  }
  return result;
}

export async function quantizeFile(inPath: string, outPath: string, opts: QuantizeOptions): Promise<QuantizeResult> {
  let input: Uint8Array;
  try {
    input = await readFile(inPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InferdError('invalid_input', `cannot read ${inPath}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message}`, { cause: err });
  }
  const result = await quantizeModel(input, { source: inPath, ...opts });
  await writeFile(outPath, result.bytes);
  return result;
}
