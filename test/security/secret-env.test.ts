import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REDACTED, looksSecret, redactSecretEnv, seesSecrets } from '../../src/security/secret-env.js';
import type { Principal } from '../../src/security/principal.js';

const who = (role: Principal['roles'][number], namespaces: Principal['namespaces'] = ['team-a']): Principal => ({ id: `key:${role}`, kind: 'key', roles: [role], namespaces, bucket: role });

describe('secret-looking env values', () => {
  it('recognizes secrets by name or by value, and leaves ordinary settings alone', () => {
    for (const [name, value] of [
      ['AWS_SECRET_ACCESS_KEY', 'x'], ['hf_token', 'x'], ['DB_PASSWORD', 'x'], ['Authorization', 'x'], ['SSL_CERT', 'x'],
      ['UPSTREAM', 'AKIAIOSFODNN7EXAMPLE'], ['X', 'sk-proj-abcdefghijklmnop1234'], ['X', 'postgres://u:p4ss@db/x'],
      ['X', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'], ['X', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6'],
    ]) assert.ok(looksSecret(name!, value!), `${name}=${value}`);
    for (const [name, value] of [['LOG_LEVEL', 'debug'], ['OMP_NUM_THREADS', '2'], ['HF_HOME', '/models/cache'], ['MODEL_DIR', '/srv/models/resnet50/version-1/weights']]) {
      assert.ok(!looksSecret(name!, value!), `${name}=${value}`);
    }
  });

  it('redacts env values at any depth without changing the stored resource', () => {
    const isvc = { metadata: { namespace: 'team-a' }, spec: { predictor: { model: { env: [{ name: 'API_TOKEN', value: 's3cr3t' }, { name: 'LOG_LEVEL', value: 'info' }, { name: 'REF', valueFrom: { secretKeyRef: { name: 'k' } } }] } } } };
    const out = redactSecretEnv(isvc);
    assert.deepEqual(out.spec.predictor.model.env, [{ name: 'API_TOKEN', value: REDACTED }, { name: 'LOG_LEVEL', value: 'info' }, { name: 'REF', valueFrom: { secretKeyRef: { name: 'k' } } }]);
    assert.equal(isvc.spec.predictor.model.env[0]!.value, 's3cr3t');
  });

  it('shows values to deployers in the namespace and admins; cluster-scoped resources to admins only', () => {
    assert.ok(!seesSecrets(who('viewer'), 'team-a'));
    assert.ok(!seesSecrets(who('predictor'), 'team-a'));
    assert.ok(seesSecrets(who('deployer'), 'team-a'));
    assert.ok(!seesSecrets(who('deployer'), 'team-b'));
    assert.ok(!seesSecrets(who('deployer'), undefined));
    assert.ok(seesSecrets(who('admin', '*'), undefined));
    assert.ok(!seesSecrets(who('metrics'), 'team-a'));
    assert.ok(seesSecrets(undefined, 'team-a'), 'no security hook: auth off');
  });
});
