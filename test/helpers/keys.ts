import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The admin key inferd bootstrapped into the data directory on its first start with keys on. */
export function adminKeyOf(dataDir: string): string {
  return readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
}

/** Creates an API key through the admin API, as `inferd keys create` does, and returns it. */
export async function createKey(base: string, admin: string, role: string, namespaces: string[] | '*', expires?: string): Promise<string> {
  const res = await fetch(`${base}/apis/inferd.dev/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ role, namespaces, ...(expires ? { expires } : {}) }),
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return (JSON.parse(text) as { key: string }).key;
}
