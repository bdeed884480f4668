import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import * as metaV1 from '@kubernetes-models/apimachinery/apis/meta/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { REPO_ROOT } from '../helpers/inferd-process.js';

/** One validation finding: a dotted field path (`spec.predictor.model.storageURI`) and what is wrong. */
export interface Issue {
  path: string;
  message: string;
}

type ModelClass = new (data: unknown) => { validate(): void };
interface AjvLikeError {
  instancePath: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

export const SCHEMA_DIR = join(REPO_ROOT, 'deploy/kubernetes/schemas/kserve');

/** `x-k8s-type` values in the condensed schemas name a kubernetes-models class: `v1.Container`, `apps/v1.DeploymentStrategy`, `meta/v1.ObjectMeta`. */
const MODULES: Record<string, Record<string, unknown>> = { v1: coreV1, 'apps/v1': appsV1, 'meta/v1': metaV1 };

function k8sClass(ref: string): ModelClass {
  const dot = ref.lastIndexOf('.');
  const cls = MODULES[ref.slice(0, dot)]?.[ref.slice(dot + 1)];
  if (typeof cls !== 'function') throw new Error(`x-k8s-type ${ref}: no such kubernetes-models class`);
  return cls as ModelClass;
}

/** JSON pointer `/spec/containers/0/image` → `spec.containers[0].image`. */
export function dotted(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}

/** Turns ajv-style errors (kubernetes-models' are ajv's too) into issues naming the offending field. */
export function toIssues(errors: readonly AjvLikeError[], prefix = ''): Issue[] {
  return errors.map((e) => {
    const extra = (e.params?.additionalProperty ?? e.params?.unevaluatedProperty) as string | undefined;
    const missing = e.params?.missingProperty as string | undefined;
    const pointer = prefix + e.instancePath + (extra !== undefined ? `/${extra}` : missing !== undefined ? `/${missing}` : '');
    const message = extra !== undefined ? 'unknown field' : missing !== undefined ? 'required field is missing' : (e.message ?? e.keyword ?? 'invalid');
    const allowed = e.params?.allowedValues as unknown[] | undefined;
    return { path: dotted(pointer) || '(root)', message: allowed ? `${message}: ${allowed.join(', ')}` : message };
  });
}

/** Validates `data` with a kubernetes-models class; the issue paths start at `pointer`. */
export function validateWithClass(cls: ModelClass, data: unknown, pointer = ''): Issue[] {
  try {
    new cls(data as never).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: AjvLikeError[] }).errors;
    if (!errors) throw err;
    return toIssues(errors, pointer);
  }
}

function compileKserveSchemas(): Record<'isvc' | 'runtime', ValidateFunction> {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
  // The core Kubernetes types KServe inlines are checked by kubernetes-models' validators.
  ajv.addKeyword({
    keyword: 'x-k8s-type',
    schemaType: 'string',
    errors: true,
    validate: function check(ref: string, data: unknown, _parent: unknown, cxt?: { instancePath: string }) {
      const issues: ErrorObject[] = [];
      try {
        new (k8sClass(ref))(data as never).validate();
      } catch (err) {
        const errors = (err as { errors?: AjvLikeError[] }).errors;
        if (!errors) throw err;
        for (const e of errors) issues.push({ ...e, instancePath: (cxt?.instancePath ?? '') + e.instancePath } as ErrorObject);
      }
      (check as unknown as { errors: ErrorObject[] }).errors = issues;
      return issues.length === 0;
    },
  });
  for (const file of ['common', 'inferenceservice', 'servingruntime']) {
    ajv.addSchema(JSON.parse(readFileSync(join(SCHEMA_DIR, `${file}.schema.json`), 'utf8')) as object);
  }
  return {
    isvc: ajv.getSchema('https://inferd.dev/schemas/kserve/inferenceservice.schema.json')!,
    runtime: ajv.getSchema('https://inferd.dev/schemas/kserve/servingruntime.schema.json')!,
  };
}

let compiled: ReturnType<typeof compileKserveSchemas> | undefined;

/** Validates a KServe InferenceService / (Cluster)ServingRuntime against the condensed CRD schemas. */
export function validateKserve(obj: Record<string, unknown>): Issue[] {
  compiled ??= compileKserveSchemas();
  const fn = obj.kind === 'InferenceService' ? compiled.isvc : compiled.runtime;
  return fn(obj) ? [] : toIssues((fn.errors ?? []) as AjvLikeError[]);
}
