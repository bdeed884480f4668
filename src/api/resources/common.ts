import { z } from 'zod';

/** Kubernetes DNS-1035 label, as KServe requires for InferenceService names. */
export const dnsLabel = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1035 label: lowercase letters, digits and "-", starting with a letter');

/** DNS-1123 subdomain, used for runtime names. */
export const dnsSubdomain = z
  .string()
  .max(253, 'must be at most 253 characters')
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a DNS-1123 subdomain: lowercase letters, digits, "-" and "."');

export const metadataSchema = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel.optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  // Server-owned; accepted so that `get -o yaml` output can be applied back.
  generation: z.number().int().optional(),
  resourceVersion: z.string().optional(),
  uid: z.string().optional(),
  creationTimestamp: z.string().optional(),
});
export type ObjectMeta = z.infer<typeof metadataSchema>;

export const envVarSchema = z.strictObject({
  name: z.string().min(1),
  value: z.string().optional(),
  valueFrom: z.record(z.string(), z.unknown()).optional(),
});
export type EnvVar = z.infer<typeof envVarSchema>;

const quantity = z.union([z.string(), z.number()]);
export const resourcesSchema = z.strictObject({
  limits: z.record(z.string(), quantity).optional(),
  requests: z.record(z.string(), quantity).optional(),
});

export const portSchema = z.strictObject({
  name: z.string().optional(),
  containerPort: z.number().int().min(1).max(65535),
  protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
});

export const protocolVersion = z.enum(['v1', 'v2', 'grpc-v1', 'grpc-v2']);
export type ProtocolVersion = z.infer<typeof protocolVersion>;

/** The Kubernetes container fields KServe passes through; unknown keys are errors. */
export const containerFields = {
  name: z.string().optional(),
  image: z.string().optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z.array(envVarSchema).optional(),
  resources: resourcesSchema.optional(),
  ports: z.array(portSchema).optional(),
  workingDir: z.string().optional(),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
  volumeMounts: z.array(z.record(z.string(), z.unknown())).optional(),
  securityContext: z.record(z.string(), z.unknown()).optional(),
  readinessProbe: z.record(z.string(), z.unknown()).optional(),
  livenessProbe: z.record(z.string(), z.unknown()).optional(),
  startupProbe: z.record(z.string(), z.unknown()).optional(),
};
export const containerSchema = z.strictObject(containerFields);
export type Container = z.infer<typeof containerSchema>;

/** Pod-level fields a cluster uses for placement; meaningless on one machine. */
export const podFields = {
  serviceAccountName: z.string().optional(),
  nodeSelector: z.record(z.string(), z.string()).optional(),
  tolerations: z.array(z.record(z.string(), z.unknown())).optional(),
  affinity: z.record(z.string(), z.unknown()).optional(),
  volumes: z.array(z.record(z.string(), z.unknown())).optional(),
  imagePullSecrets: z.array(z.record(z.string(), z.unknown())).optional(),
  priorityClassName: z.string().optional(),
  schedulerName: z.string().optional(),
  hostIPC: z.boolean().optional(),
  securityContext: z.record(z.string(), z.unknown()).optional(),
};
