import { z } from 'zod';
import { containerFields, metadataSchema, podFields, protocolVersion } from './common.js';

export const modelFormatSchema = z.strictObject({
  name: z.string().min(1),
  version: z.string().optional(),
});

const storageSchema = z.strictObject({
  key: z.string().optional(),
  path: z.string().optional(),
  schemaPath: z.string().optional(),
  parameters: z.record(z.string(), z.string()).optional(),
});

/** Fields shared by `predictor.model` and the legacy per-framework specs. */
const modelFields = {
  ...containerFields,
  runtime: z.string().optional(),
  runtimeVersion: z.string().optional(),
  storageUri: z.string().min(1).optional(),
  storage: storageSchema.optional(),
  protocolVersion: protocolVersion.optional(),
};

export const modelSpecSchema = z.strictObject({ ...modelFields, modelFormat: modelFormatSchema });
export type ModelSpec = z.infer<typeof modelSpecSchema>;

const legacyModelSchema = z.strictObject(modelFields);

/** KServe's pre-`model` framework fields; each becomes `model` with that format. */
export const LEGACY_FRAMEWORKS = [
  'sklearn', 'xgboost', 'lightgbm', 'onnx', 'tensorflow', 'pytorch', 'triton', 'pmml', 'paddle', 'huggingface',
] as const;

const batcherSchema = z.strictObject({
  maxBatchSize: z.number().int().min(1).optional(),
  maxLatency: z.number().int().min(0).optional(),
  timeout: z.number().int().min(0).optional(),
});

const loggerSchema = z.strictObject({
  url: z.string().optional(),
  mode: z.enum(['all', 'request', 'response']).optional(),
  metadataHeaders: z.array(z.string()).optional(),
});

const componentFields = {
  ...podFields,
  name: z.string().optional(),
  minReplicas: z.number().int().min(0).optional(),
  maxReplicas: z.number().int().min(0).optional(),
  scaleTarget: z.number().int().min(1).optional(),
  scaleMetric: z.enum(['cpu', 'memory', 'concurrency', 'rps']).optional(),
  containerConcurrency: z.number().int().min(0).optional(),
  timeout: z.number().int().min(1).optional(),
  canaryTrafficPercent: z.number().int().min(0).max(100).optional(),
  batcher: batcherSchema.optional(),
  logger: loggerSchema.optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  deploymentStrategy: z.record(z.string(), z.unknown()).optional(),
  containers: z.array(z.strictObject(containerFields)).optional(),
};

const legacyFields = Object.fromEntries(LEGACY_FRAMEWORKS.map((f) => [f, legacyModelSchema.optional()])) as Record<
  (typeof LEGACY_FRAMEWORKS)[number],
  z.ZodOptional<typeof legacyModelSchema>
>;

export const predictorSchema = z.strictObject({
  ...componentFields,
  ...legacyFields,
  model: modelSpecSchema.optional(),
});
export type PredictorSpec = z.infer<typeof predictorSchema>;

/** A canary entry names only what differs: its `model` is merged field by field over the main one (src/control/revision-spec.ts). */
const canaryEntrySchema = z.strictObject({
  trafficPercent: z.number().int().min(0).max(100),
  predictor: predictorSchema.extend({ model: modelSpecSchema.partial().optional() }),
});

export const inferenceServiceSchema = z.strictObject({
  apiVersion: z.literal('serving.kserve.io/v1beta1'),
  kind: z.literal('InferenceService'),
  metadata: metadataSchema,
  spec: z.strictObject({
    predictor: predictorSchema,
    transformer: z.strictObject(componentFields).optional(),
    explainer: z.record(z.string(), z.unknown()).optional(),
    canary: z.array(canaryEntrySchema).optional(),
  }),
  // Written by the server; ignored on apply.
  status: z.unknown().optional(),
});
export type InferenceService = z.infer<typeof inferenceServiceSchema>;
