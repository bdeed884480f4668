import { readFileSync } from 'node:fs';

/** The admin API's OpenAPI document, kept as a file so readers and tools find it in docs/. */
export const OPENAPI_YAML = readFileSync(new URL('../../../../docs/openapi.yaml', import.meta.url), 'utf8');
