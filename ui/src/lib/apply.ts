import { INFERD, request } from './api';

export interface Applied {
  kind: string;
  namespace: string;
  name: string;
  action: string;
}

/** POST /apply with YAML (one or many documents); the server validates everything, all or nothing. */
export async function applyYaml(yaml: string): Promise<Applied[]> {
  const res = await request(`${INFERD}/apply`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: yaml });
  return ((await res.json()) as { applied: Applied[] }).applied;
}

/** The 1-based line of the YAML most likely meant by a field path such as spec.predictor.model.storageUri. */
export function lineOfField(yaml: string, field: string): number | undefined {
  const parts = field.split(/[.[\]]/).filter((p) => p && !/^\d+$/.test(p));
  const lines = yaml.split('\n');
  let from = 0;
  let found: number | undefined;
  // Walk the path: each segment is searched for after the previous one.
  for (const p of parts) {
    const re = new RegExp(`^\\s*(- )?["']?${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*:`);
    const i = lines.findIndex((l, n) => n >= from && re.test(l));
    if (i < 0) break;
    found = i + 1;
    from = i + 1;
  }
  return found;
}
