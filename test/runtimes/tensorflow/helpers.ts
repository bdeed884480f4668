import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { REPO_ROOT } from '../../helpers/inferd-process.js';
import { tensorflowRuntime } from '../../../src/runtimes/tensorflow/index.js';
import type { LoadedModel } from '../../../src/runtimes/types.js';
import { mlpSpec, savedModelBytes, writeCheckpoint } from '../../../scripts/gen-tf-savedmodel.js';

export const TF_FIXTURES = join(REPO_ROOT, 'test/fixtures/tensorflow');
export const GENERATED = join(TF_FIXTURES, 'generated');

export interface TfExpected {
  inputs: Record<string, { shape: number[]; data: number[] }>;
  outputs: Record<string, { shape: number[]; data: number[] }>;
}

export function expectedOf(name: 'mlp' | 'cnn'): TfExpected {
  return JSON.parse(readFileSync(join(GENERATED, name, 'expected.json'), 'utf8')) as TfExpected;
}

export function loadTf(path: string, args: string[] = []): Promise<LoadedModel> {
  return tensorflowRuntime.load({
    name: 'test', path, format: { name: 'tensorflow' }, args, env: {},
    threads: { intraOp: 1, interOp: 1 }, log: pino({ level: 'silent' }),
  });
}

/** Broken copies of the generated MLP for error tests, in a fresh temp directory. */
export function brokenModels(): { root: string; unsupportedOp: string; truncatedIndex: string; crcMismatch: string; badIndexCrc: string } {
  const root = mkdtempSync(join(tmpdir(), 'inferd-tf-'));
  const copy = (name: string) => {
    const dir = join(root, name);
    cpSync(join(GENERATED, 'mlp'), dir, { recursive: true });
    return dir;
  };
  const truncatedIndex = copy('truncated-index');
  const idx = join(truncatedIndex, 'variables/variables.index');
  writeFileSync(idx, readFileSync(idx).subarray(0, 100));
  const crcMismatch = copy('crc-mismatch');
  const data = join(crcMismatch, 'variables/variables.data-00000-of-00001');
  const bytes = readFileSync(data);
  bytes[10]! ^= 0x40;
  writeFileSync(data, bytes);
  const badIndexCrc = copy('bad-index-crc');
  const idx2 = join(badIndexCrc, 'variables/variables.index');
  const ib = readFileSync(idx2);
  ib[20]! ^= 0x01;
  writeFileSync(idx2, ib);
  const unsupportedOp = join(root, 'unsupported-op');
  const spec = mlpSpec(4, 4);
  const body = spec.body;
  spec.body = {
    build(x, v, n) {
      const out = body.build(x, v, n);
      n.push({ name: 'inv', op: 'MatrixInverse', input: [out], attr: { T: { type: 1 }, adjoint: { b: false } } });
      return 'inv:output:0';
    },
  };
  writeFileSync(join(root, 'unused'), '');
  cpSync(join(GENERATED, 'mlp'), unsupportedOp, { recursive: true });
  writeFileSync(join(unsupportedOp, 'saved_model.pb'), savedModelBytes(spec));
  writeCheckpoint(unsupportedOp, spec.variables);
  return { root, unsupportedOp, truncatedIndex, crcMismatch, badIndexCrc };
}

export function assertCloseRel(actual: ArrayLike<number>, want: ArrayLike<number>, rel: number): void {
  if (actual.length !== want.length) throw new Error(`length ${actual.length} != ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const a = Number(actual[i]);
    const w = Number(want[i]);
    if (Math.abs(a - w) > rel * Math.max(Math.abs(w), 1e-6)) throw new Error(`[${i}]: got ${a}, want ${w} (rel ${rel})`);
  }
}
