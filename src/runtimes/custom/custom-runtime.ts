import { pathToFileURL } from 'node:url';
import { extname } from 'node:path';
import { InferdError, invalidInput } from '../../api/errors.js';
import { isDatatype } from '../../api/datatype.js';
import { elementCount, type Tensor, type TensorSpec } from '../../api/inference.js';
import { flatten, fromValues, toValues } from '../../protocols/tensor-values.js';
import type { LoadContext, LoadedModel } from '../types.js';

/**
 * A user's model class, shaped like KServe's Python `Model`: `load`, `predict`,
 * optional `preprocess`/`postprocess`, optional declared `inputs`/`outputs`.
 * V2 payloads arrive as `{ inputs: [{name, datatype, shape, data}] }` with flat
 * plain arrays; V1 payloads arrive as the request body.
 */
export interface UserModel {
  load?(): unknown;
  preprocess?(payload: unknown, ctx: CallContext): unknown;
  predict(payload: unknown, ctx: CallContext): unknown;
  postprocess?(result: unknown, ctx: CallContext): unknown;
  inputs?: TensorSpec[];
  outputs?: TensorSpec[];
  memoryBytes?(): number;
  unload?(): unknown;
}

export interface CallContext {
  protocol: 'v1' | 'v2';
}

type UserModelClass = new (name: string, options: { modelDir: string; args: string[]; env: Record<string, string> }) => UserModel;

async function importModule(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  if (['.ts', '.mts', '.cts'].includes(extname(file))) {
    const { tsImport } = await import('tsx/esm/api');
    return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
  }
  return (await import(url)) as Record<string, unknown>;
}

export async function loadCustomModel(modulePath: string, ctx: LoadContext): Promise<LoadedModel> {
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(modulePath);
  } catch (err) {
    throw new InferdError('invalid_input', `custom runtime module ${modulePath} could not be imported: ${(err as Error).message}`, { cause: err });
  }
  const Cls = (mod.default ?? mod.Model) as UserModelClass | undefined;
  if (typeof Cls !== 'function') throw new InferdError('invalid_input', `custom runtime module ${modulePath} must export a model class as default or as "Model"`);
  const user = new Cls(ctx.name, { modelDir: ctx.path, args: ctx.args, env: ctx.env });
  if (typeof user.predict !== 'function') throw new InferdError('invalid_input', `custom model class in ${modulePath} has no predict() method`);
  await user.load?.();
  return new CustomModel(user, checkSpecs(user.inputs, 'inputs'), checkSpecs(user.outputs, 'outputs'));
}

function checkSpecs(specs: unknown, what: string): TensorSpec[] {
  if (specs === undefined) return [];
  if (!Array.isArray(specs)) throw new InferdError('invalid_input', `custom model ${what} must be an array of {name, datatype, shape}`);
  return specs.map((s: Partial<TensorSpec>, i) => {
    if (typeof s.name !== 'string' || !isDatatype(s.datatype) || !Array.isArray(s.shape)) {
      throw new InferdError('invalid_input', `custom model ${what}[${i}] must be {name, datatype, shape}`);
    }
    return { name: s.name, datatype: s.datatype, shape: s.shape };
  });
}

class CustomModel implements LoadedModel {
  readonly platform = 'inferd_custom';

  constructor(private readonly user: UserModel, readonly inputs: TensorSpec[], readonly outputs: TensorSpec[]) {}

  private async run(payload: unknown, ctx: CallContext): Promise<unknown> {
    const pre = this.user.preprocess ? await this.user.preprocess(payload, ctx) : payload;
    const result = await this.user.predict(pre, ctx);
    return this.user.postprocess ? await this.user.postprocess(result, ctx) : result;
  }

  async infer(inputs: Tensor[], outputNames: string[]): Promise<Tensor[]> {
    const payload = { inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, data: toValues(t) })) };
    const result = (await this.run(payload, { protocol: 'v2' })) as { outputs?: unknown } | undefined;
    if (!result || !Array.isArray(result.outputs)) throw new InferdError('internal', 'custom model predict() returned no outputs array');
    const all = result.outputs.map((o: { name?: unknown; datatype?: unknown; shape?: unknown; data?: unknown }, i): Tensor => {
      const field = `custom model output ${i}`;
      if (typeof o.name !== 'string' || !isDatatype(o.datatype) || !Array.isArray(o.shape)) {
        throw new InferdError('internal', `${field} must be {name, datatype, shape, data}`);
      }
      const shape = o.shape as number[];
      const flat = flatten(o.data, shape.length, field);
      if (flat.length !== elementCount(shape)) throw new InferdError('internal', `${field} "${o.name}": data does not fill its shape`);
      return { name: o.name, datatype: o.datatype, shape, data: fromValues(o.datatype, flat, field) };
    });
    // Models that declare no outputs return what they compute; requested names filter it.
    const wanted = this.outputs.length ? outputNames : outputNames.length ? outputNames : all.map((t) => t.name);
    return all.filter((t) => wanted.includes(t.name));
  }

  async predictV1(body: unknown): Promise<unknown> {
    if (typeof body !== 'object' || body === null) throw invalidInput('V1 request body must be a JSON object', 'body');
    return this.run(body, { protocol: 'v1' });
  }

  memoryBytes(): number {
    return this.user.memoryBytes?.() ?? 0;
  }

  async unload(): Promise<void> {
    await this.user.unload?.();
  }
}
