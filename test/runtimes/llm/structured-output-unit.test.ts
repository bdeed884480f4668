import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { InferdError } from '../../../src/api/errors.js';
import { JsonCloser } from '../../../src/runtimes/llm/json-closer.js';
import { schemaGbnf } from '../../../src/runtimes/llm/json-schema-gbnf.js';
import { anyJsonObject, resolve, schemaNodes, type SchemaNode } from '../../../src/runtimes/llm/json-schema-nodes.js';
import { llamaFor } from '../../../src/runtimes/llm/llm-runtime.js';
import { mulberry32 } from '../../../src/quantize/seeded-random.js';

/** A random text of the shape the grammar generates (every property in order, whitespace, escapes, unicode). */
function randomText(node: SchemaNode, r: () => number, depth = 0): string {
  const ws = () => [' ', '', '\n  ', ''][Math.floor(r() * 4)]!;
  const n = resolve(node);
  switch (n.kind) {
    case 'anyOf': return randomText(n.options[Math.floor(r() * n.options.length)]!, r, depth);
    case 'literal': return n.texts[Math.floor(r() * n.texts.length)]!;
    case 'number': {
      const digits = r() < 0.2 ? '0' : String(1 + Math.floor(r() * 1e6));
      const int = `${r() < 0.3 && (digits !== '0' || !n.integer) ? '-' : ''}${digits}`;
      return n.integer || r() < 0.5 ? int : `${int}.${Math.floor(r() * 1000)}`;
    }
    case 'string': {
      const pieces = ['a', 'é', '\\n', '\\"', '\\u00e9', ' ', '😀', '\\\\'];
      const max = n.maxLength ?? n.minLength + 6;
      const len = n.minLength + Math.floor(r() * (max - n.minLength + 1));
      return `"${Array.from({ length: len }, () => pieces[Math.floor(r() * pieces.length)]).join('')}"`;
    }
    case 'array': {
      const max = Math.min(n.maxItems ?? n.minItems + 3, n.minItems + 3);
      const count = depth > 4 ? n.minItems : n.minItems + Math.floor(r() * (max - n.minItems + 1));
      return `[${ws()}${Array.from({ length: count }, () => randomText(n.items, r, depth + 1)).join(`${ws()},${ws()}`)}${ws()}]`;
    }
    case 'object': {
      if (n.anyKeys) {
        const count = depth > 3 ? 0 : Math.floor(r() * 3);
        return `{${Array.from({ length: count }, (_, i) => `"k${i}"${ws()}:${ws()}${randomText(n.anyKeys!, r, depth + 1)}`).join(',')}}`;
      }
      return `{${ws()}${n.props.map((p) => `${JSON.stringify(p.key)}${ws()}:${ws()}${randomText(p.node, r, depth + 1)}`).join(`${ws()},${ws()}`)}${ws()}}`;
    }
  }
}

const SCHEMAS: Record<string, unknown>[] = [
  { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' }, ok: { type: 'boolean' } }, required: ['city', 'days', 'ok'] },
  { type: 'object', properties: { note: { type: 'string', minLength: 3, maxLength: 8 }, tags: { type: 'array', items: { type: 'string' }, minItems: 2 } }, required: ['note', 'tags'] },
  { type: 'object', properties: { a: { type: 'object', properties: { b: { type: 'array', items: { type: 'object', properties: { c: { type: 'number' } }, required: ['c'] } } }, required: ['b'] }, d: { enum: ['x', 'xy', 1, 10, null] } }, required: ['a', 'd'] },
  { type: 'object', properties: { opt: { type: 'string' }, req: { type: ['integer', 'null'] } }, required: ['req'], additionalProperties: false },
  { type: 'object', properties: { v: { anyOf: [{ type: 'string' }, { type: 'integer' }, { type: 'object', properties: { z: { const: 'q' } }, required: ['z'] }] } }, required: ['v'] },
  { $defs: { node: { type: 'object', properties: { name: { type: 'string' }, kids: { type: 'array', items: { $ref: '#/$defs/node' }, maxItems: 2 } }, required: ['name'] } }, $ref: '#/$defs/node' },
  { type: 'object', properties: { any: {}, list: { type: 'array' } }, required: ['any', 'list'] },
  { $defs: { p: { type: 'object', properties: { x: { type: 'integer' } }, required: ['x'] } }, type: 'object', properties: { at: { allOf: [{ $ref: '#/$defs/p' }], description: 'where' } }, required: ['at'] },
  { type: 'object', properties: { scores: { type: 'object', additionalProperties: { type: 'integer' } } }, required: ['scores'] },
];

describe('JSON closer: the shortest valid completion of every prefix', () => {
  const ajv = new Ajv({ strict: false });
  SCHEMAS.forEach((schema, si) => {
    it(`schema ${si}: every prefix of random outputs closes into a value that validates`, () => {
      const root = schemaNodes(schema, 'schema');
      const check = ajv.compile(schema);
      const r = mulberry32(si + 1);
      for (let k = 0; k < 25; k++) {
        const text = randomText(root, r);
        assert.ok(check(JSON.parse(text)), `generator made an invalid sample: ${text}`);
        const closer = new JsonCloser(root);
        const chars = [...text];
        for (let i = 0; i <= chars.length; i++) {
          const prefix = chars.slice(0, i).join('');
          const full = prefix + closer.completion();
          let value: unknown;
          assert.doesNotThrow(() => (value = JSON.parse(full)), `not JSON: ${JSON.stringify(full)}`);
          assert.ok(check(value), `${JSON.stringify(full)}: ${ajv.errorsText(check.errors)}`);
          if (i < chars.length) assert.ok(closer.feed(chars[i]!), `rejected ${JSON.stringify(chars[i])} after ${JSON.stringify(prefix)}`);
        }
        assert.equal(closer.completion(), '');
      }
    });
  });

  it('llama.cpp parses the grammar of every schema', async () => {
    const llama = await llamaFor(false);
    for (const [i, schema] of SCHEMAS.entries()) {
      await assert.doesNotReject(llama.createGrammar({ grammar: schemaGbnf(schemaNodes(schema, 'schema')) }), `schema ${i}`);
    }
    await assert.doesNotReject(llama.createGrammar({ grammar: schemaGbnf(anyJsonObject()) }));
  });

  it('json_object: any object closes into an object', () => {
    const root = anyJsonObject();
    const r = mulberry32(99);
    for (let k = 0; k < 30; k++) {
      const text = randomText(root, r);
      const closer = new JsonCloser(root);
      let prefix = '';
      for (const ch of text) {
        assert.ok(closer.feed(ch));
        prefix += ch;
        const v = JSON.parse(prefix + closer.completion()) as unknown;
        assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), prefix);
      }
      assert.equal(closer.completion(), '');
      assert.ok(closer.done);
    }
  });

  it('integers: no fraction or exponent is accepted, and the grammar has none', () => {
    const root = schemaNodes({ type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] }, 's');
    for (const bad of ['{"n":1.', '{"n":1e', '{"n":1E', '{"n":01', '{"n":-0']) {
      const c = new JsonCloser(root);
      assert.equal(c.feed(bad), false, bad);
    }
    const gbnf = schemaGbnf(root);
    assert.match(gbnf, /^int ::= "0" \| "-"\? \[1-9\] \[0-9\]\{0,14\}$/m);
    const c = new JsonCloser(root);
    c.feed('{"n":-');
    assert.equal(c.completion(), '1}');
    assert.doesNotMatch(gbnf, /\[eE\]/);
  });
});

describe('JSON schema keywords the grammar cannot enforce are refused, naming the field', () => {
  const refused: Array<[unknown, string]> = [
    [{ type: 'object', properties: { id: { type: 'string', pattern: '^[a-z]+$' } } }, 'f.properties.id.pattern'],
    [{ type: 'object', properties: { at: { type: 'string', format: 'date-time' } } }, 'f.properties.at.format'],
    [{ type: 'object', properties: { n: { type: 'integer', minimum: 3 } } }, 'f.properties.n.minimum'],
    [{ type: 'array', items: { type: 'string' }, uniqueItems: true }, 'f.uniqueItems'],
    [{ allOf: [{ type: 'string' }, { maxLength: 3 }] }, 'f.allOf'],
    [{ enum: [1e400] }, 'f.enum'],
    [{ type: 'object', properties: { a: { type: 'string' } }, required: ['b'] }, 'f.required'],
    [{ $ref: 'https://example.com/s.json' }, 'f.$ref'],
    [{ type: 'string', maxLength: 100000 }, 'f.maxLength'],
  ];
  for (const [schema, field] of refused) {
    it(`refuses ${field}`, () => {
      assert.throws(() => schemaNodes(schema, 'f'), (e: unknown) => {
        assert.ok(InferdError.is(e));
        assert.equal(e.code, 'invalid_input');
        assert.equal(e.field, field);
        return true;
      });
    });
  }

  it('errors cap the client-chosen names they name', () => {
    const long = 'x'.repeat(5000);
    assert.throws(() => schemaNodes({ type: 'object', properties: { [long]: { type: 'string', pattern: 'a' } } }, 'f'), (e: unknown) => {
      assert.ok(InferdError.is(e));
      assert.ok(e.message.length < 600 && (e.field ?? '').length < 120, e.field);
      return true;
    });
  });

  it('accepts annotations and the supported keywords', () => {
    assert.doesNotThrow(() => schemaNodes({ $schema: 'x', title: 't', description: 'd', type: 'object', properties: { a: { type: 'string', minLength: 1, examples: ['x'], default: 'y' } }, required: ['a'], additionalProperties: false }, 'f'));
  });
});

describe('hostile schemas stay bounded', () => {
  it('a schema whose shortest value doubles per level is refused, not expanded', () => {
    const defs: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) defs[`d${i}`] = { type: 'object', properties: { a: { $ref: `#/$defs/d${i + 1}` }, b: { $ref: `#/$defs/d${i + 1}` } }, required: ['a', 'b'] };
    defs.d40 = { type: 'string' };
    assert.throws(() => schemaNodes({ $defs: defs, $ref: '#/$defs/d0' }, 'f'), (e: unknown) => InferdError.is(e) && e.field === 'f' && /shorter than/.test(e.message));
  });

  it('a required property that refers back to its own object has no finite value: 400', () => {
    const schema = { $defs: { n: { type: 'object', properties: { next: { $ref: '#/$defs/n' } }, required: ['next'] } }, $ref: '#/$defs/n' };
    assert.throws(() => schemaNodes(schema, 'f'), (e: unknown) => InferdError.is(e) && e.field === 'f');
  });

  it('length bounds that would unroll into a huge grammar are refused', () => {
    const props = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, { type: 'string', maxLength: 4000 }]));
    assert.throws(() => schemaNodes({ type: 'object', properties: props }, 'f'), (e: unknown) => InferdError.is(e) && /maxLength$/.test(e.field ?? ''));
  });
});
