import { InferdError } from '../api/errors.js';
import type { ModelEndpoint } from './model-endpoint.js';

/** Maps (namespace, model name) to the endpoint that serves it. */
export class ModelRouter {
  private readonly byKey = new Map<string, ModelEndpoint>();

  set(endpoint: ModelEndpoint): void {
    this.byKey.set(key(endpoint.namespace, endpoint.name), endpoint);
  }

  delete(namespace: string, name: string): void {
    this.byKey.delete(key(namespace, name));
  }

  list(): ModelEndpoint[] {
    return [...this.byKey.values()];
  }

  /**
   * Finds a model by name. Without a namespace, the `default` namespace is tried
   * first, then a name that is unique across namespaces.
   */
  resolve(name: string, namespace?: string, version?: string): ModelEndpoint {
    let ep = this.byKey.get(key(namespace ?? 'default', name));
    if (!ep && namespace === undefined) {
      const matches = this.list().filter((e) => e.name === name);
      if (matches.length === 1) ep = matches[0];
    }
    if (!ep) throw new InferdError('not_found', `Model with name ${name} does not exist.`);
    if (version !== undefined && version !== ep.version) {
      throw new InferdError('not_found', `Model with name ${name} has no version ${version} (served version: ${ep.version}).`);
    }
    return ep;
  }

  /** Ready when every model that should be loaded is loaded. */
  allReady(): boolean {
    return this.list().every((e) => e.ready);
  }
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
