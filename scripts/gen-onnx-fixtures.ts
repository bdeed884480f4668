/**
 * Writes the ONNX test models under test/fixtures/onnx/ with deterministic weights,
 * and params.json files that scripts/onnx-reference.py turns into expected.json
 * with numpy (an independent computation of the same graphs).
 *   npm run build && node dist/scripts/gen-onnx-fixtures.js && python3 scripts/onnx-reference.py
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { doubleTensor, encodeModel, floatTensor, int64Tensor, node, seededFloats, valueInfo, type GraphSpec, type OnnxType } from './onnx-builder.js';

const root = process.argv[2] ?? 'test/fixtures/onnx';

function write(dir: string, graph: GraphSpec, params: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), encodeModel(graph));
  writeFileSync(join(dir, 'params.json'), JSON.stringify(params) + '\n');
}

/** A dense MLP: ReLU between layers, softmax at the end, dynamic batch. `sizes` lists every layer width. */
export function mlpGraph(name: string, sizes: number[], seed: number): { graph: GraphSpec; weights: Record<string, Float32Array> } {
  const weights: Record<string, Float32Array> = {};
  const initializers = [];
  const nodes = [];
  let prev = 'input';
  for (let i = 0; i + 1 < sizes.length; i++) {
    const [nIn, nOut] = [sizes[i]!, sizes[i + 1]!];
    const w = seededFloats(seed + 2 * i, nIn * nOut, 1 / Math.sqrt(nIn));
    const b = seededFloats(seed + 2 * i + 1, nOut, 0.1);
    weights[`w${i + 1}`] = w;
    weights[`b${i + 1}`] = b;
    initializers.push(floatTensor(`w${i + 1}`, [nIn, nOut], w), floatTensor(`b${i + 1}`, [nOut], b));
    const last = i + 2 === sizes.length;
    nodes.push(node('Gemm', [prev, `w${i + 1}`, `b${i + 1}`], [last ? 'logits' : `h${i + 1}`]));
    if (!last) {
      nodes.push(node('Relu', [`h${i + 1}`], [`hr${i + 1}`]));
      prev = `hr${i + 1}`;
    }
  }
  nodes.push(node('Softmax', ['logits'], ['probabilities'], { axis: 1 }));
  return {
    weights,
    graph: {
      name,
      inputs: [valueInfo('input', 'FP32', ['batch', sizes[0]!])],
      outputs: [valueInfo('probabilities', 'FP32', ['batch', sizes.at(-1)!])],
      initializers,
      nodes,
    },
  };
}

export function writeModel(dir: string, graph: GraphSpec): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'model.onnx');
  writeFileSync(file, encodeModel(graph));
  return file;
}

function main(): void {
  if (process.argv[1] && !process.argv[1].endsWith('gen-onnx-fixtures.js')) return;
  const mlp = mlpGraph('mlp', [4, 8, 3], 7);
  write(join(root, 'mlp'), mlp.graph, {
    weights: Object.fromEntries(Object.entries(mlp.weights).map(([k, v]) => [k, Array.from(v)])),
    inputs: { input: Array.from(seededFloats(99, 5 * 4, 3)) },
    shape: [5, 4],
  });

  // Same signature, other weights: a second revision of the same model in rollout tests.
  const mlp2 = mlpGraph('mlp', [4, 8, 3], 11);
  write(join(root, 'mlp-v2'), mlp2.graph, {
    weights: Object.fromEntries(Object.entries(mlp2.weights).map(([k, v]) => [k, Array.from(v)])),
    inputs: { input: Array.from(seededFloats(99, 5 * 4, 3)) },
    shape: [5, 4],
  });

  write(join(root, 'multi-io'), {
    name: 'multi_io',
    inputs: [valueInfo('a', 'FP32', ['batch', 3]), valueInfo('b', 'INT64', ['batch', 3])],
    outputs: [valueInfo('sum', 'FP32', ['batch', 3]), valueInfo('doubled', 'INT64', ['batch', 3]), valueInfo('positive', 'BOOL', ['batch', 3])],
    initializers: [int64Tensor('two', [], [2n]), floatTensor('zero', [], new Float32Array([0]))],
    nodes: [
      node('Cast', ['b'], ['bf'], { to: 1 }),
      node('Add', ['a', 'bf'], ['sum']),
      node('Mul', ['b', 'two'], ['doubled']),
      node('Greater', ['a', 'zero'], ['positive']),
    ],
  }, { inputs: { a: [[0.5, -1.25, 3], [-0.5, 0, 2.75]], b: [[1, -2, 3], [40000000000, 5, -6]] } });

  const w = new Float64Array([1.5, -2, 0.25, 4]);
  write(join(root, 'fixed-matmul'), {
    name: 'fixed_matmul',
    inputs: [valueInfo('x', 'FP64', [2, 2])],
    outputs: [valueInfo('y', 'FP64', [2, 2])],
    initializers: [doubleTensor('w', [2, 2], w)],
    nodes: [node('MatMul', ['x', 'w'], ['y'])],
  }, { weights: { w: Array.from(w) }, inputs: { x: [[1, 2], [3, 4.5]] } });

  const types: OnnxType[] = ['UINT8', 'INT8', 'INT16', 'UINT16', 'INT32', 'UINT32', 'UINT64', 'FP16', 'BOOL', 'BYTES'];
  write(join(root, 'identity-types'), {
    name: 'identity_types',
    inputs: types.map((t) => valueInfo(`in_${t.toLowerCase()}`, t, ['n'])),
    outputs: types.map((t) => valueInfo(`out_${t.toLowerCase()}`, t, ['n'])),
    nodes: types.map((t) => node('Identity', [`in_${t.toLowerCase()}`], [`out_${t.toLowerCase()}`])),
  }, { types });
}

main();
