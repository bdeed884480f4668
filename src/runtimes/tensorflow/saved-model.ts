import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { io } from '@tensorflow/tfjs-core';
import { InferdError } from '../../api/errors.js';
import { inlineFunctions, restoreMap, signatureGraph, splitTensor } from './graph-transform.js';
import { TensorBundle, variablesPrefix } from './tensor-bundle.js';
import { buildArtifacts } from './tfjs-artifacts.js';
import { decodeSavedModel, dtypeName, shapeDims, type MetaGraphDefMsg, type SavedModelMsg } from './tf-proto.js';
import { tf } from './tfjs-engine.js';

/** One tensor of a signature as TensorFlow declares it. */
export interface SigTensor {
  key: string;
  tfDtype: string;
  /** undefined: unknown rank. */
  shape: number[] | undefined;
  /** Node name to feed (inputs) or tensor name to fetch (outputs) in the TF.js graph. */
  graphName: string;
}

/** A signature ready to compile for TF.js (or the reason it cannot run). */
export interface SignaturePlan {
  name: string;
  method: string;
  inputs: SigTensor[];
  outputs: SigTensor[];
  build(): Promise<{ artifacts: io.ModelArtifacts; weightBytes: number }>;
}

export interface LoadedGraphs {
  tags: string[];
  tensorflowVersion?: string;
  plans: SignaturePlan[];
  /** Signatures that cannot be served at all (structure), with the reason. */
  refused: Map<string, string>;
}

const SERVE_TAG = 'serve';

function chooseMetaGraph(sm: SavedModelMsg, tags: string[], file: string): MetaGraphDefMsg {
  const want = new Set(tags);
  const found = sm.meta_graphs.find((m) => {
    const have = new Set(m.meta_info_def?.tags ?? []);
    return have.size === want.size && [...want].every((t) => have.has(t));
  });
  if (!found) {
    const avail = sm.meta_graphs.map((m) => `[${(m.meta_info_def?.tags ?? []).join(',')}]`).join(' ');
    throw new InferdError('invalid_input', `${file} has no MetaGraph tagged [${tags.join(',')}] (it has ${avail || 'none'}); set --tags`);
  }
  return found;
}

export async function loadSavedModel(dir: string, tags: string[] = [SERVE_TAG]): Promise<LoadedGraphs> {
  const file = join(dir, 'saved_model.pb');
  const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new InferdError('invalid_input', `cannot read ${file}: ${err.code ?? err.message}`);
  });
  let sm: SavedModelMsg;
  try {
    sm = decodeSavedModel(bytes);
  } catch (err) {
    throw new InferdError('invalid_input', `${file} is not a SavedModel protobuf (${(err as Error).message}); it may be truncated`);
  }
  const mg = chooseMetaGraph(sm, tags, file);
  const graph = mg.graph_def;
  if (!graph) throw new InferdError('invalid_input', `${file}: the MetaGraph has no GraphDef`);
  const g = inlineFunctions(graph);
  const restores = restoreMap(g);
  const hasVariables = await stat(`${variablesPrefix(dir)}.index`).then(() => true, () => false);
  let bundle: TensorBundle | undefined;
  if (hasVariables) bundle = await TensorBundle.open(variablesPrefix(dir));
  for (const key of new Set(restores.values())) {
    if (bundle && !bundle.entries.has(key)) {
      throw new InferdError('invalid_input', `checkpoint ${variablesPrefix(dir)}.index lacks "${key}", which the SavedModel restores`);
    }
  }
  const plans: SignaturePlan[] = [];
  const refused = new Map<string, string>();
  for (const [name, sig] of Object.entries(mg.signature_def).sort(([a], [b]) => a.localeCompare(b))) {
    if (name.startsWith('__')) continue; // __saved_model_init_op and friends
    try {
      const sg = signatureGraph(g, name, sig, restores);
      const inputs = Object.entries(sig.inputs ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([key, info]) => ({
        key, tfDtype: dtypeName(info.dtype), shape: shapeDims(info.tensor_shape), graphName: sg.feeds.get(key)!,
      }));
      const outputs = Object.entries(sig.outputs ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([key, info]) => ({
        key, tfDtype: dtypeName(info.dtype), shape: shapeDims(info.tensor_shape), graphName: sg.fetches.get(key)!,
      }));
      plans.push({
        name, method: sig.method_name ?? '', inputs, outputs,
        build: () => buildArtifacts(name, sg, bundle, graph.versions?.producer ?? 0),
      });
    } catch (err) {
      if (!InferdError.is(err)) throw err;
      refused.set(name, err.message);
    }
  }
  const out: LoadedGraphs = { tags: mg.meta_info_def?.tags ?? [], plans, refused };
  if (mg.meta_info_def?.tensorflow_version) out.tensorflowVersion = mg.meta_info_def.tensorflow_version;
  return out;
}

interface TfjsModelJson {
  format?: string;
  modelTopology?: { node?: Array<{ name: string; op: string; input?: string[]; attr?: Record<string, { type?: string; shape?: { dim?: Array<{ size?: string }>; unknownRank?: boolean } }> }> };
  weightsManifest?: io.WeightsManifestConfig;
  userDefinedMetadata?: { signature?: { inputs?: Record<string, JsonTensorInfo>; outputs?: Record<string, JsonTensorInfo> } };
  signature?: { inputs?: Record<string, JsonTensorInfo>; outputs?: Record<string, JsonTensorInfo> };
}
interface JsonTensorInfo { name?: string; dtype?: string; tensorShape?: { dim?: Array<{ size?: string }>; unknownRank?: boolean } }

function jsonDims(s: JsonTensorInfo['tensorShape']): number[] | undefined {
  if (!s || s.unknownRank) return undefined;
  return (s.dim ?? []).map((d) => Number(d.size ?? -1));
}

/** A TF.js graph model (`model.json` + weight shards), read from disk without fetch. */
export async function loadTfjsModel(dir: string): Promise<LoadedGraphs> {
  const file = join(dir, 'model.json');
  let json: TfjsModelJson;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as TfjsModelJson;
  } catch (err) {
    // JSON.parse's message quotes the file's text: only the kind of failure leaves.
    const why = (err as NodeJS.ErrnoException).code ?? (err instanceof SyntaxError ? 'not valid JSON' : 'unreadable');
    throw new InferdError('invalid_input', `cannot read TF.js model ${file}: ${why}`);
  }
  if (json.format !== undefined && json.format !== 'graph-model') {
    throw new InferdError('invalid_input', `${file} is a TF.js ${json.format}; inferd serves graph models (tensorflowjs_converter --output_format=tfjs_graph_model)`);
  }
  const nodes = json.modelTopology?.node ?? [];
  const sig = json.signature ?? json.userDefinedMetadata?.signature;
  let inputs: SigTensor[];
  let outputs: SigTensor[];
  if (sig?.inputs && sig.outputs) {
    const conv = (isIn: boolean) => ([key, info]: [string, JsonTensorInfo]): SigTensor => ({
      key, tfDtype: info.dtype ?? 'DT_FLOAT', shape: jsonDims(info.tensorShape),
      graphName: isIn ? splitTensor(info.name ?? key)[0] : (info.name ?? key).replace(/:0$/, ''),
    });
    inputs = Object.entries(sig.inputs).map(conv(true));
    outputs = Object.entries(sig.outputs).map(conv(false));
  } else {
    const consumed = new Set(nodes.flatMap((n) => (n.input ?? []).map((i) => splitTensor(i.replace(/^\^/, ''))[0])));
    inputs = nodes.filter((n) => n.op === 'Placeholder').map((n) => ({
      key: n.name, tfDtype: n.attr?.dtype?.type ?? 'DT_FLOAT', shape: jsonDims(n.attr?.shape?.shape), graphName: n.name,
    }));
    outputs = nodes.filter((n) => !consumed.has(n.name) && n.op !== 'Const' && n.op !== 'Placeholder' && n.op !== 'NoOp').map((n) => ({
      key: n.name, tfDtype: n.attr?.T?.type ?? n.attr?.dtype?.type ?? 'DT_FLOAT', shape: undefined, graphName: n.name,
    }));
  }
  const manifest = json.weightsManifest ?? [];
  const plan: SignaturePlan = {
    name: 'serving_default', method: 'tensorflow/serving/predict', inputs, outputs,
    async build() {
      const artifacts = await tf.io.getModelArtifactsForJSON(json as io.ModelJSON, async (m) => {
        const buffers: Uint8Array[] = [];
        for (const group of m) for (const p of group.paths) buffers.push(await readFile(join(dir, p)));
        const total = buffers.reduce((n, b) => n + b.length, 0);
        const data = new Uint8Array(total);
        let o = 0;
        for (const b of buffers) {
          data.set(b, o);
          o += b.length;
        }
        return [m.flatMap((g) => g.weights), data.buffer];
      });
      void manifest;
      const weightBytes = artifacts.weightData ? (artifacts.weightData as ArrayBuffer).byteLength : 0;
      return { artifacts, weightBytes };
    },
  };
  return { tags: [], plans: [plan], refused: new Map() };
}
