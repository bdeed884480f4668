import type { ObjectMeta } from '../api/resources/common.js';

/**
 * Expands KServe's Go-template placeholders in runtime args (`{{.Name}}`,
 * `{{.Namespace}}`, `{{.Labels.key}}`, `{{.Annotations.key}}`). Unknown ones stay as written.
 */
export function expandTemplate(text: string, meta: ObjectMeta): string {
  return text.replace(/\{\{\s*\.(Name|Namespace|Labels|Annotations)(?:\.([A-Za-z0-9_./-]+))?\s*\}\}/g, (whole, field: string, key?: string) => {
    if (field === 'Name' && !key) return meta.name;
    if (field === 'Namespace' && !key) return meta.namespace ?? 'default';
    const map = field === 'Labels' ? meta.labels : field === 'Annotations' ? meta.annotations : undefined;
    return key && map?.[key] !== undefined ? map[key]! : whole;
  });
}
