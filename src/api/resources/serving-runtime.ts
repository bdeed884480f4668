import { z } from 'zod';
import { containerFields, metadataSchema, podFields, protocolVersion } from './common.js';

export const supportedFormatSchema = z.strictObject({
  name: z.string().min(1),
  version: z.string().optional(),
  autoSelect: z.boolean().optional(),
  priority: z.number().int().min(1).optional(),
});
export type SupportedFormat = z.infer<typeof supportedFormatSchema>;

export const servingRuntimeSpecSchema = z.strictObject({
  ...podFields,
  supportedModelFormats: z.array(supportedFormatSchema).optional(),
  protocolVersions: z.array(protocolVersion).optional(),
  disabled: z.boolean().optional(),
  multiModel: z.boolean().optional(),
  containers: z.array(z.strictObject(containerFields)).min(1, 'a ServingRuntime needs at least one container'),
  grpcEndpoint: z.string().optional(),
  grpcDataEndpoint: z.string().optional(),
  httpDataEndpoint: z.string().optional(),
  replicas: z.number().int().min(0).optional(),
  storageHelper: z.strictObject({ disabled: z.boolean().optional() }).optional(),
  builtInAdapter: z.record(z.string(), z.unknown()).optional(),
  workerSpec: z.record(z.string(), z.unknown()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  labels: z.record(z.string(), z.string()).optional(),
});
export type ServingRuntimeSpec = z.infer<typeof servingRuntimeSpecSchema>;

const base = {
  apiVersion: z.literal('serving.kserve.io/v1alpha1'),
  metadata: metadataSchema,
  spec: servingRuntimeSpecSchema,
  status: z.unknown().optional(),
};

export const servingRuntimeSchema = z.strictObject({ ...base, kind: z.literal('ServingRuntime') });
export const clusterServingRuntimeSchema = z.strictObject({ ...base, kind: z.literal('ClusterServingRuntime') });
export type ServingRuntime = z.infer<typeof servingRuntimeSchema> | z.infer<typeof clusterServingRuntimeSchema>;

/** Annotation naming a JS/TS module that implements a custom in-process model. */
export const MODULE_ANNOTATION = 'inferd.dev/module';
