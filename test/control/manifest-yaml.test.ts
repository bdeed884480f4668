import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferdError } from '../../src/api/errors.js';
import { parseManifest } from '../../src/api/resources/manifest.js';

const invalid = (text: string, message: RegExp) =>
  assert.throws(() => parseManifest(text), (err: unknown) => InferdError.is(err) && err.code === 'invalid_input' && message.test(err.message));

describe('hostile YAML is bad input, never a server error', () => {
  it('an alias to an anchor that does not exist', () => {
    invalid('*a', /document 1: invalid YAML: Unresolved alias/);
    invalid('*\0', /invalid YAML/);
    invalid('kind: InferenceService\nspec: *nope\n', /invalid YAML: Unresolved alias/);
  });

  it('alias expansion bombs ("billion laughs") are refused', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    invalid(lines.join('\n'), /invalid YAML: .*alias/i);
  });
});
