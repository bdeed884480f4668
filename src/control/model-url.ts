/**
 * The URLs `status.url` and `status.address.url` print: each reaches the InferenceService
 * without any other header (docs/protocols.md, "Namespaces and URLs").
 */

/** Path-based: `/v2/models/{name}` in `default`, `/ns/{namespace}/v2/models/{name}` elsewhere. */
export function modelUrl(baseUrl: string, namespace: string, name: string): string {
  const ns = namespace === 'default' ? '' : `/ns/${encodeURIComponent(namespace)}`;
  return `${baseUrl}${ns}/v2/models/${encodeURIComponent(name)}`;
}

/** Host-based, as KServe's `{name}.{namespace}.{domain}`, on the server's scheme and port. */
export function hostUrl(baseUrl: string, namespace: string, name: string, domain: string): string | undefined {
  if (!URL.canParse(baseUrl)) return undefined; // not listening yet
  const url = new URL(baseUrl);
  return `${url.protocol}//${name}.${namespace}.${domain}${url.port ? `:${url.port}` : ''}`;
}
