/**
 * Just enough YAML writing for the deploy form and the rollout slider: the server
 * parses and validates, so the browser carries no YAML parser.
 */
export function toYaml(value: unknown, indent = 0): string {
  const pad = '  '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return value.map((v) => (isObject(v) ? `${pad}- ${toYaml(v, indent + 1).trimStart()}` : `${pad}- ${scalar(v)}`)).join('\n');
  }
  if (isObject(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    return entries
      .map(([k, v]) => {
        if (isObject(v) && Object.keys(v).length) return `${pad}${key(k)}:\n${toYaml(v, indent + 1)}`;
        if (Array.isArray(v) && v.length) return `${pad}${key(k)}:\n${toYaml(v, indent + 1)}`;
        return `${pad}${key(k)}: ${isObject(v) ? '{}' : Array.isArray(v) ? '[]' : scalar(v)}`;
      })
      .join('\n');
  }
  return pad + scalar(value);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const key = (k: string) => (/^[A-Za-z0-9_./-]+$/.test(k) ? k : JSON.stringify(k));

function scalar(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = String(v);
  // Plain only when YAML cannot read it as another type or syntax.
  return /^[A-Za-z_/][A-Za-z0-9_./:@-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|~)$/i.test(s) ? s : JSON.stringify(s);
}

/** Returns the InferenceService as an apply body: spec and identity, no status or server-set fields. */
/**
 * The applyable part of a resource. With `keepVersion`, its resourceVersion goes along, so
 * the server refuses (409) an edit made on a copy someone else changed meanwhile.
 */
export function applyBody(
  isvc: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string>; resourceVersion?: string }; spec: unknown },
  keepVersion = false,
): Record<string, unknown> {
  const { name, namespace, annotations, labels, resourceVersion } = isvc.metadata;
  return { apiVersion: isvc.apiVersion, kind: isvc.kind, metadata: { name, namespace, annotations, labels, ...(keepVersion && resourceVersion ? { resourceVersion } : {}) }, spec: isvc.spec };
}
