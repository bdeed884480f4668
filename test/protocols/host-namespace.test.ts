import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { namespaceFromHost } from '../../src/protocols/http/routing.js';

describe('Host {name}.{namespace}.{domain} → namespace (a client-controlled header)', () => {
  const ns = (host: string | undefined) => namespaceFromHost(host, 'inferd.local');

  it('reads the namespace label, with or without a port, case-insensitively', () => {
    assert.equal(ns('iris.team-a.inferd.local'), 'team-a');
    assert.equal(ns('iris.team-a.inferd.local:8080'), 'team-a');
    assert.equal(ns('IRIS.Team-A.Inferd.Local.'), 'team-a');
  });

  it('ignores every other shape instead of guessing', () => {
    for (const host of [undefined, '', '127.0.0.1:8080', 'localhost', 'inferd.local', 'team-a.inferd.local', 'a.b.team-a.inferd.local', 'iris.team-a.example.com', 'iris.team-a.xinferd.local', '[::1]:8080', 'iris.-bad.inferd.local', 'iris.te_am.inferd.local', 'iris..inferd.local', `iris.${'a'.repeat(64)}.inferd.local`, `${'x'.repeat(300)}.inferd.local`]) {
      assert.equal(ns(host), undefined, String(host));
    }
  });
});
