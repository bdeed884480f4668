import { invalidInput } from '../../api/errors.js';

/**
 * A JSON schema reduced to what constrained generation enforces. Every keyword of the
 * input schema is either turned into one of these nodes, ignored as an annotation, or
 * refused with a 400 naming it: nothing is dropped silently, so what the grammar
 * generates always validates against the schema the client sent.
 */
export type SchemaNode =
  | { kind: 'string'; minLength: number; maxLength?: number }
  | { kind: 'number'; integer: boolean }
  /** Exact JSON texts (enum, const, true/false, null). */
  | { kind: 'literal'; texts: string[] }
  | { kind: 'object'; props: ObjectProp[]; anyKeys?: SchemaNode }
  | { kind: 'array'; items: SchemaNode; minItems: number; maxItems?: number }
  | { kind: 'anyOf'; options: SchemaNode[] }
  /** A `$ref`, resolved after the definitions are read (they may refer to each other). */
  | { kind: 'ref'; target?: SchemaNode };

export interface ObjectProp {
  key: string;
  node: SchemaNode;
  required: boolean;
}

/** Keywords that say nothing about which values are valid. */
const ANNOTATIONS = new Set(['title', 'description', '$comment', 'examples', 'example', 'default', '$schema', '$id', 'deprecated', 'readOnly', 'writeOnly', 'strict']);
const KNOWN = new Set([...ANNOTATIONS, 'allOf', 'type', 'enum', 'const', 'properties', 'required', 'additionalProperties', 'items', 'minItems', 'maxItems', 'minLength', 'maxLength', 'anyOf', 'oneOf', '$ref', '$defs', 'definitions']);
const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array']);
/** Repetition bounds the grammar can expand (llama.cpp unrolls `{m,n}` into rules). */
const MAX_REPEAT = 4096;
const MAX_NODES = 10_000;
const MAX_DEPTH = 64;
/** Sum of the repetition bounds: what llama.cpp unrolls, so what the grammar costs. */
const MAX_EXPANSION = 65_536;
/** Longer shortest values are useless under any context length, and recursion could make them huge. */
const MAX_MINIMAL = 65_536;
/** Rounds of the minimal-text fixpoint; acyclic schemas need two. */
const MAX_ROUNDS = 64;

/** Any JSON value; objects with any keys. Shared by `json_object` and schemas without a type. */
export function anyJson(): SchemaNode {
  const any: SchemaNode = { kind: 'anyOf', options: [] };
  const object: SchemaNode = { kind: 'object', props: [], anyKeys: any };
  any.options.push(object, { kind: 'array', items: any, minItems: 0 }, { kind: 'string', minLength: 0 }, { kind: 'number', integer: false }, { kind: 'literal', texts: ['true', 'false', 'null'] });
  return any;
}

/** `response_format: json_object`: an object with any members. */
export function anyJsonObject(): SchemaNode {
  const any = anyJson() as { kind: 'anyOf'; options: SchemaNode[] };
  return any.options[0]!;
}

type Json = Record<string, unknown>;

/** A client-chosen name as a field-path segment: printable and at most 40 characters, so errors never echo long payload text. */
const seg = (name: string) => {
  const clean = name.replace(/[^\x20-\x7E]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
};

/** Reads `schema` (found at request field `field`) into nodes; a keyword the grammar cannot enforce is a 400 naming it. */
export function schemaNodes(schema: unknown, field: string): SchemaNode {
  let count = 0;
  const defs = new Map<string, { raw: unknown; node: SchemaNode & { kind: 'ref' }; field: string }>();
  const fail = (path: string, why: string) => invalidInput(`${path}: ${why}`, path);

  const collectDefs = (s: Json, path: string) => {
    for (const key of ['$defs', 'definitions'] as const) {
      const d = s[key];
      if (d === undefined) continue;
      if (typeof d !== 'object' || d === null || Array.isArray(d)) throw fail(`${path}.${key}`, 'must be an object of schemas');
      for (const [name, raw] of Object.entries(d)) {
        const ref = `#/${key}/${name}`;
        if (!defs.has(ref)) defs.set(ref, { raw, node: { kind: 'ref' }, field: `${path}.${key}.${seg(name)}` });
      }
    }
  };

  const count1 = (path: string) => {
    if (++count > MAX_NODES) throw fail(path, `the schema has more than ${MAX_NODES} subschemas`);
  };

  let expansion = 0;
  const bound = (s: Json, key: string, path: string, fallback?: number): number | undefined => {
    const v = s[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw fail(`${path}.${key}`, 'must be a non-negative integer');
    if (v > MAX_REPEAT) throw fail(`${path}.${key}`, `values above ${MAX_REPEAT} cannot be enforced by the grammar`);
    expansion += v;
    if (expansion > MAX_EXPANSION) throw fail(`${path}.${key}`, `the schema's length and item bounds add up to more than ${MAX_EXPANSION}, more than the grammar can hold`);
    return v;
  };

  const read = (raw: unknown, path: string, depth: number): SchemaNode => {
    count1(path);
    if (depth > MAX_DEPTH) throw fail(path, `the schema nests deeper than ${MAX_DEPTH}`);
    if (raw === true) return anyJson();
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fail(path, 'must be a JSON schema object');
    const s = raw as Json;
    for (const key of Object.keys(s)) {
      if (!KNOWN.has(key)) {
        throw fail(`${path}.${seg(key)}`, `the JSON-schema keyword "${seg(key)}" cannot be enforced by constrained generation; remove it (supported: type, enum, const, properties, required, additionalProperties, items, minItems, maxItems, minLength, maxLength, anyOf, oneOf, one-element allOf, $ref, $defs)`);
      }
    }
    collectDefs(s, path);

    if (s.$ref !== undefined) {
      if (typeof s.$ref !== 'string') throw fail(`${path}.$ref`, 'must be a string');
      const def = defs.get(s.$ref);
      if (!def) throw fail(`${path}.$ref`, 'only references to #/$defs/<name> or #/definitions/<name> of this schema are supported');
      const others = Object.keys(s).filter((k) => !ANNOTATIONS.has(k) && k !== '$ref' && k !== '$defs' && k !== 'definitions');
      if (others.length) throw fail(`${path}.${others[0]}`, 'cannot be combined with $ref');
      return def.node;
    }

    if (s.allOf !== undefined) {
      // One-element allOf is how some generators (pydantic v1) attach a description to a $ref.
      const others = Object.keys(s).filter((k) => !ANNOTATIONS.has(k) && k !== 'allOf' && k !== '$defs' && k !== 'definitions');
      if (!Array.isArray(s.allOf) || s.allOf.length !== 1 || others.length) throw fail(`${path}.allOf`, 'only a one-element allOf is supported: the grammar cannot intersect schemas');
      return read(s.allOf[0], `${path}.allOf[0]`, depth + 1);
    }

    const alternatives = s.anyOf ?? s.oneOf;
    if (s.anyOf !== undefined && s.oneOf !== undefined) throw fail(`${path}.oneOf`, 'cannot be combined with anyOf');
    if (alternatives !== undefined) {
      const key = s.anyOf !== undefined ? 'anyOf' : 'oneOf';
      if (!Array.isArray(alternatives) || alternatives.length === 0) throw fail(`${path}.${key}`, 'must be a non-empty array of schemas');
      const others = Object.keys(s).filter((k) => !ANNOTATIONS.has(k) && k !== key && k !== '$defs' && k !== 'definitions');
      if (others.length) throw fail(`${path}.${others[0]}`, `cannot be combined with ${key}; move it into each alternative`);
      return { kind: 'anyOf', options: alternatives.map((a, i) => read(a, `${path}.${key}[${i}]`, depth + 1)) };
    }

    if (s.const !== undefined || s.enum !== undefined) {
      const values = s.const !== undefined ? [s.const] : s.enum;
      const key = s.const !== undefined ? 'const' : 'enum';
      if (!Array.isArray(values) || values.length === 0) throw fail(`${path}.${key}`, 'must be a non-empty array');
      if (values.some((v) => typeof v === 'number' && !Number.isFinite(v))) throw fail(`${path}.${key}`, 'holds a number JSON cannot write');
      const types = typeList(s, path);
      const texts = values.filter((v) => types === undefined || types.some((t) => typeMatches(v, t))).map((v) => JSON.stringify(v));
      if (texts.length === 0) throw fail(`${path}.${key}`, 'no value matches the schema\'s type');
      return { kind: 'literal', texts: [...new Set(texts)] };
    }

    const types = typeList(s, path) ?? (hasObjectKeywords(s) ? ['object'] : hasArrayKeywords(s) ? ['array'] : hasStringKeywords(s) ? ['string'] : undefined);
    if (types === undefined) return anyJson();
    const nodes = types.map((t) => typed(t, s, path, depth));
    return nodes.length === 1 ? nodes[0]! : { kind: 'anyOf', options: nodes };
  };

  const typed = (t: string, s: Json, path: string, depth: number): SchemaNode => {
    switch (t) {
      case 'string': {
        const minLength = bound(s, 'minLength', path, 0)!;
        const maxLength = bound(s, 'maxLength', path);
        if (maxLength !== undefined && maxLength < minLength) throw fail(`${path}.maxLength`, 'is below minLength');
        return maxLength === undefined ? { kind: 'string', minLength } : { kind: 'string', minLength, maxLength };
      }
      case 'number':
      case 'integer':
        return { kind: 'number', integer: t === 'integer' };
      case 'boolean':
        return { kind: 'literal', texts: ['true', 'false'] };
      case 'null':
        return { kind: 'literal', texts: ['null'] };
      case 'object': {
        const props = s.properties ?? {};
        if (typeof props !== 'object' || props === null || Array.isArray(props)) throw fail(`${path}.properties`, 'must be an object of schemas');
        const required = s.required ?? [];
        if (!Array.isArray(required) || required.some((r) => typeof r !== 'string')) throw fail(`${path}.required`, 'must be an array of property names');
        const missing = (required as string[]).find((r) => !Object.hasOwn(props, r));
        if (missing !== undefined) throw fail(`${path}.required`, 'names a property that is not in properties');
        const ap = s.additionalProperties;
        const entries = Object.entries(props as Json);
        if (entries.length === 0 && ap !== undefined && ap !== false) {
          // A map: any keys, values of the additionalProperties schema.
          return { kind: 'object', props: [], anyKeys: ap === true ? anyJson() : read(ap, `${path}.additionalProperties`, depth + 1) };
        }
        if (ap !== undefined && typeof ap !== 'boolean' && (typeof ap !== 'object' || ap === null || Array.isArray(ap))) throw fail(`${path}.additionalProperties`, 'must be a boolean or a schema');
        // With listed properties, extra keys are never generated: valid whatever additionalProperties allows.
        return {
          kind: 'object',
          props: entries.map(([key, sub]) => ({ key, node: read(sub, `${path}.properties.${seg(key)}`, depth + 1), required: (required as string[]).includes(key) })),
        };
      }
      case 'array': {
        if (Array.isArray(s.items)) throw fail(`${path}.items`, 'tuple items (an array) are not supported');
        const minItems = bound(s, 'minItems', path, 0)!;
        const maxItems = bound(s, 'maxItems', path);
        if (maxItems !== undefined && maxItems < minItems) throw fail(`${path}.maxItems`, 'is below minItems');
        const items = s.items === undefined ? anyJson() : read(s.items, `${path}.items`, depth + 1);
        return maxItems === undefined ? { kind: 'array', items, minItems } : { kind: 'array', items, minItems, maxItems };
      }
      default:
        throw fail(`${path}.type`, 'is not a JSON-schema type');
    }
  };

  const root = read(schema, field, 0);
  // Definitions are read when first referenced and may refer to each other (or themselves).
  for (let pending = [...defs.values()].filter((d) => !d.node.target); pending.length; pending = [...defs.values()].filter((d) => !d.node.target)) {
    for (const d of pending) d.node.target = read(d.raw, d.field, 1);
  }
  const minimal = minimalTexts(root);
  if (!minimal) throw fail(field, 'the schema\'s references nest too deeply');
  if (minimal.get(root) === undefined) throw fail(field, `the schema admits no value shorter than ${MAX_MINIMAL} characters`);
  return root;
}

function typeList(s: Json, path: string): string[] | undefined {
  if (s.type === undefined) return undefined;
  const list = Array.isArray(s.type) ? s.type : [s.type];
  if (list.length === 0 || list.some((t) => typeof t !== 'string' || !TYPES.has(t))) throw invalidInput(`${path}.type: must be one of ${[...TYPES].join(', ')} or an array of them`, `${path}.type`);
  return [...new Set(list as string[])];
}

function typeMatches(v: unknown, t: string): boolean {
  switch (t) {
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number';
    case 'integer': return Number.isInteger(v);
    case 'boolean': return typeof v === 'boolean';
    case 'null': return v === null;
    case 'array': return Array.isArray(v);
    default: return typeof v === 'object' && v !== null && !Array.isArray(v);
  }
}

const hasObjectKeywords = (s: Json) => s.properties !== undefined || s.required !== undefined || s.additionalProperties !== undefined;
const hasArrayKeywords = (s: Json) => s.items !== undefined || s.minItems !== undefined || s.maxItems !== undefined;
const hasStringKeywords = (s: Json) => s.minLength !== undefined || s.maxLength !== undefined;

/** Follows references. */
export function resolve(node: SchemaNode): Exclude<SchemaNode, { kind: 'ref' }> {
  let n = node;
  for (let i = 0; n.kind === 'ref'; i++) {
    if (!n.target || i > MAX_NODES) throw new Error('unresolved $ref');
    n = n.target;
  }
  return n;
}

const children = (n: SchemaNode): SchemaNode[] =>
  n.kind === 'ref' ? (n.target ? [n.target] : [])
  : n.kind === 'anyOf' ? n.options
  : n.kind === 'array' ? [n.items]
  : n.kind === 'object' ? [...n.props.map((p) => p.node), ...(n.anyKeys ? [n.anyKeys] : [])]
  : [];

/** Every node reachable from `root`, children before parents (but along cycles). */
export function reachable(root: SchemaNode): SchemaNode[] {
  const seen = new Set<SchemaNode>([root]);
  const order: SchemaNode[] = [];
  const stack: Array<{ node: SchemaNode; next: number }> = [{ node: root, next: 0 }];
  while (stack.length) {
    const top = stack.at(-1)!;
    const kids = children(top.node);
    if (top.next < kids.length) {
      const child = kids[top.next++]!;
      if (!seen.has(child)) {
        seen.add(child);
        stack.push({ node: child, next: 0 });
      }
    } else {
      order.push(top.node);
      stack.pop();
    }
  }
  return order;
}

/**
 * The shortest valid JSON text of every node reachable from `root` (absent: none is
 * finite or short enough, e.g. a required property that refers back to its own
 * object). A fixpoint, since definitions may be recursive; undefined when it does not
 * settle within MAX_ROUNDS.
 */
export function minimalTexts(root: SchemaNode): Map<SchemaNode, string> | undefined {
  const nodes = reachable(root);
  const best = new Map<SchemaNode, string>();
  const shorter = (a: string | undefined, b: string | undefined) => (a === undefined ? b : b === undefined || a.length <= b.length ? a : b);
  for (let changed = true, rounds = 0; changed; rounds++) {
    if (rounds > MAX_ROUNDS) return undefined;
    changed = false;
    for (const n of nodes) {
      const found = minimalOf(n, best, shorter);
      const text = found !== undefined && found.length <= MAX_MINIMAL ? found : undefined;
      if (text !== undefined && text !== best.get(n) && (best.get(n) === undefined || text.length < best.get(n)!.length)) {
        best.set(n, text);
        changed = true;
      }
    }
  }
  return best;
}

function minimalOf(n: SchemaNode, best: Map<SchemaNode, string>, shorter: (a: string | undefined, b: string | undefined) => string | undefined): string | undefined {
  switch (n.kind) {
    case 'string': return `"${'a'.repeat(n.minLength)}"`;
    case 'number': return '0';
    case 'literal': return n.texts.reduce<string | undefined>((a, t) => shorter(a, t), undefined);
    case 'ref': return n.target ? best.get(n.target) : undefined;
    case 'anyOf': return n.options.reduce<string | undefined>((a, o) => shorter(a, best.get(o)), undefined);
    case 'array': {
      if (n.minItems === 0) return '[]';
      const item = best.get(n.items);
      return item === undefined ? undefined : `[${Array(n.minItems).fill(item).join(',')}]`;
    }
    case 'object': {
      const parts: string[] = [];
      for (const p of n.props) {
        if (!p.required) continue;
        const v = best.get(p.node);
        if (v === undefined) return undefined;
        parts.push(`${JSON.stringify(p.key)}:${v}`);
      }
      return `{${parts.join(',')}}`;
    }
  }
}
