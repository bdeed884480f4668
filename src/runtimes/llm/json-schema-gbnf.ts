import { reachable, type SchemaNode } from './json-schema-nodes.js';

/**
 * GBNF (llama.cpp's grammar format) for schema nodes. Written here rather than with
 * node-llama-cpp's converter because the closer (json-closer.ts) must know exactly
 * which texts the grammar allows, and because that converter lets integers carry an
 * exponent (`9E924657335`) and ignores keywords it cannot enforce.
 *
 * Objects list every property in schema order (optional ones too, as node-llama-cpp
 * does: small models do better with a fixed shape); numbers have no exponent and at
 * most 15 integer digits, so every integer is a safe JavaScript integer (and never -0).
 */
const COMMON = [
  'ws ::= [ \\t\\n]{0,20}',
  'char ::= [^"\\\\\\x7F\\x00-\\x1F] | "\\\\" ["\\\\/bfnrt] | "\\\\u" [0-9a-fA-F]{4}',
  'int ::= "0" | "-"? [1-9] [0-9]{0,14}',
  'num ::= "-"? ("0" | [1-9] [0-9]{0,14}) ("." [0-9]{1,15})?',
];

/** A GBNF string literal for `text`. */
export function gbnfLiteral(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\n\r\t]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'))}"`;
}

function repeat(body: string, min: number, max: number | undefined): string {
  if (max === 0) return '';
  if (max === undefined) return `(${body}){${min},}`;
  return `(${body}){${min},${max}}`;
}

export function schemaGbnf(root: SchemaNode): string {
  const names = new Map<SchemaNode, string>();
  reachable(root).forEach((n, i) => names.set(n, n === root ? 'root' : `v${i}`));
  const ref = (n: SchemaNode) => names.get(n)!;
  const rules = [...COMMON];
  for (const [n, name] of names) rules.push(`${name} ::= ${body(n, ref)}`);
  return rules.join('\n');
}

function body(n: SchemaNode, ref: (n: SchemaNode) => string): string {
  switch (n.kind) {
    case 'string':
      if (n.maxLength === 0) return '"\\"\\""';
      return `"\\"" ${n.minLength === 0 && n.maxLength === undefined ? 'char*' : repeat('char', n.minLength, n.maxLength)} "\\""`;
    case 'number':
      return n.integer ? 'int' : 'num';
    case 'literal':
      return n.texts.map(gbnfLiteral).join(' | ');
    case 'ref':
      return ref(n.target!);
    case 'anyOf':
      return n.options.map(ref).join(' | ');
    case 'array': {
      const item = ref(n.items);
      if (n.maxItems === 0) return '"[" ws "]"';
      const more = repeat(`ws "," ws ${item}`, Math.max(0, n.minItems - 1), n.maxItems === undefined ? undefined : n.maxItems - 1);
      const items = `${item} ${more}`;
      return `"[" ws ${n.minItems === 0 ? `(${items})?` : items} ws "]"`;
    }
    case 'object': {
      const members = n.props.map((p) => `${gbnfLiteral(JSON.stringify(p.key))} ws ":" ws ${ref(p.node)}`);
      if (n.anyKeys) {
        const member = `"\\"" char* "\\"" ws ":" ws ${ref(n.anyKeys)}`;
        return `"{" ws (${member} (ws "," ws ${member})*)? ws "}"`;
      }
      return members.length ? `"{" ws ${members.join(' ws "," ws ')} ws "}"` : '"{" ws "}"';
    }
  }
}
