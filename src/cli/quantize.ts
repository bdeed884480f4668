import { type Command, Option } from 'commander';
import { InferdError } from '../api/errors.js';
import { formatReport, quantizeFile, type QuantizeMode } from '../quantize/index.js';

interface QuantizeCliOptions {
  int8?: boolean;
  fp16?: boolean;
  perChannel?: boolean;
  keepIoFp32?: boolean;
  ioFp16?: boolean;
  blockOps?: string;
  eval: boolean;
  rows: string;
  seed: string;
  inputRange: string;
  json?: boolean;
}

function positive(flag: string, value: string, integer: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new InferdError('invalid_input', `${flag} must be a positive ${integer ? 'integer' : 'number'}, got "${value}"`);
  return n;
}

export function registerQuantize(program: Command): void {
  program
    .command('quantize <in> <out>')
    .description('write an INT8 (dynamic, MatMul/Gemm weights) or FP16 copy of an ONNX model and report its size and accuracy loss')
    .option('--int8', 'dynamic INT8: int8 weights for MatMul/Gemm, activations quantized at run time')
    .option('--fp16', 'FP16 weights and compute')
    .option('--per-channel', 'INT8: one weight scale per output column')
    .option('--keep-io-fp32', 'FP16: keep graph inputs and outputs FP32 (the default)')
    .option('--io-fp16', 'FP16: make graph inputs and outputs FP16 too')
    .option('--block-ops <ops>', 'FP16: comma-separated op types kept in FP32 (replaces the default list)')
    .addOption(new Option('--no-eval', 'skip the accuracy measurement'))
    .option('--rows <n>', 'random rows for the accuracy measurement', '64')
    .option('--seed <n>', 'seed of the random inputs', '1')
    .option('--input-range <r>', 'random float inputs are uniform in [-r, r)', '1')
    .option('--json', 'print the report as JSON')
    .action(async (input: string, output: string, opts: QuantizeCliOptions) => {
      if (opts.int8 === opts.fp16) throw new InferdError('invalid_input', 'give exactly one of --int8 or --fp16');
      if (opts.keepIoFp32 && opts.ioFp16) throw new InferdError('invalid_input', '--keep-io-fp32 and --io-fp16 contradict each other');
      const mode: QuantizeMode = opts.int8 ? 'int8' : 'fp16';
      const result = await quantizeFile(input, output, {
        mode,
        perChannel: opts.perChannel ?? false,
        ioFp16: opts.ioFp16 ?? false,
        ...(opts.blockOps !== undefined ? { blockOps: opts.blockOps.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
        evaluate: opts.eval && {
          batch: positive('--rows', opts.rows, true),
          seed: positive('--seed', opts.seed, true),
          range: positive('--input-range', opts.inputRange, false),
        },
      });
      if (opts.json) {
        const { bytes: _bytes, ...rest } = result;
        console.log(JSON.stringify({ input, output, ...rest }, null, 2));
      } else {
        for (const line of formatReport(result, input, output)) console.log(line);
      }
    });
}
