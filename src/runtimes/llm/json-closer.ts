import { minimalTexts, resolve, type ObjectProp, type SchemaNode } from './json-schema-nodes.js';

/**
 * Follows JSON text as it is generated and answers, at any point, the shortest text
 * that completes it into a value valid against the schema: close the open string,
 * finish a number or literal, add the required properties still missing (with their
 * shortest values), reach minItems, close every container. Budget-aware generation
 * stops sampling and appends this text when the tokens left reach what it needs.
 *
 * A pushdown automaton over characters; where the schema offers alternatives
 * (anyOf, a key that prefixes another, "1" vs "10"), it keeps one stack per
 * alternative still consistent with the text and answers the shortest completion
 * among them.
 */
type Frame =
  /** A value not started yet (whitespace may come first). */
  | { t: 'value'; node: SchemaNode }
  /** Inside a string after its opening quote. `esc`: 0 none, 1 after `\`, 2..5 after `\u` and esc-2 hex digits. */
  | { t: 'str'; min: number; max?: number; len: number; esc: number }
  /** One of fixed texts, `text` matched so far (enum/const values, true/false/null, property names). */
  | { t: 'lit'; texts: string[]; text: string; key: boolean }
  | { t: 'num'; integer: boolean; st: 'sign' | 'zero' | 'int' | 'dot' | 'frac' }
  /**
   * `next`: the grammar lists properties in schema order, so the next name is props[next].
   * `key`: the member being written ('key': its name is above; 'colon', 'val': after it).
   */
  | { t: 'obj'; props: ObjectProp[]; anyKeys?: SchemaNode; seen: string[]; next: number; st: 'open' | 'comma' | 'key' | 'colon' | 'val' | 'after'; key?: string }
  | { t: 'arr'; items: SchemaNode; min: number; count: number; st: 'open' | 'comma' | 'val' | 'after' };

type Stack = Frame[];
const WS = new Set([' ', '\t', '\n', '\r']);
const HEX = /^[0-9a-fA-F]$/;
const MAX_STACKS = 64;

export class JsonCloser {
  private stacks: Stack[];
  private readonly minimal: Map<SchemaNode, string>;
  private finished = false;

  constructor(private readonly root: SchemaNode, minimal?: Map<SchemaNode, string>, stacks?: Stack[]) {
    const m = minimal ?? minimalTexts(root);
    if (!m?.has(root)) throw new Error('the schema has no shortest value');
    this.minimal = m;
    this.stacks = stacks ?? [[{ t: 'value', node: root }]];
  }

  clone(): JsonCloser {
    const c = new JsonCloser(this.root, this.minimal, this.stacks.map(cloneStack));
    c.finished = this.finished;
    return c;
  }

  /** True once the top-level object, array or string is closed: nothing may follow but whitespace. */
  get done(): boolean {
    return this.finished;
  }

  /**
   * False when `text` cannot continue a valid value (the grammar should make that
   * impossible); this closer is then spent, so feed a clone when that matters.
   */
  feed(text: string): boolean {
    for (const ch of text) {
      const next: Stack[] = [];
      for (const s of this.stacks) for (const r of step(s, ch)) if (next.length < MAX_STACKS) next.push(r);
      if (next.length === 0) return false;
      this.stacks = next;
      this.finished = next.some((s) => s.length === 0);
      if (this.finished) this.stacks = next.filter((s) => s.length === 0);
    }
    return true;
  }

  /** The shortest text that makes what was fed a complete, valid value. */
  completion(): string {
    let best: string | undefined;
    for (const s of this.stacks) {
      const c = stackCompletion(s, this.minimal);
      if (c !== undefined && (best === undefined || c.length < best.length)) best = c;
    }
    if (best === undefined) throw new Error('no completion for the generated JSON prefix');
    return best;
  }
}

function cloneStack(s: Stack): Stack {
  return s.map((f) => (f.t === 'obj' ? { ...f, seen: [...f.seen] } : { ...f }));
}

/** The stacks that `ch` leads to from `s` (none: `ch` is not allowed there). */
function step(s: Stack, ch: string): Stack[] {
  const top = s.at(-1);
  if (!top) return WS.has(ch) ? [s] : [];
  switch (top.t) {
    case 'value':
      return WS.has(ch) ? [s] : start(s, top.node, ch);
    case 'str':
      return stepString(s, top, ch);
    case 'lit': {
      const text = top.text + ch;
      const texts = top.texts.filter((t) => t.startsWith(text));
      const out: Stack[] = [];
      if (!top.key && top.texts.includes(top.text)) {
        // The literal is complete ("1" of enum [1, 10]): `ch` may belong to what follows it.
        const ended = cloneStack(s);
        ended.pop();
        out.push(...step(valueEnded(ended), ch));
      }
      if (texts.length) {
        top.text = text;
        top.texts = texts;
        // A property name ends at its closing quote.
        if (top.key && texts.includes(text)) {
          s.pop();
          valueEnded(s);
        }
        out.push(s);
      }
      return out;
    }
    case 'num': {
      const digit = ch >= '0' && ch <= '9';
      const st = top.st;
      if (st === 'sign' || st === 'dot') {
        if (!digit || (st === 'sign' && top.integer && ch === '0')) return [];
        top.st = st === 'dot' ? 'frac' : ch === '0' ? 'zero' : 'int';
        return [s];
      }
      if (digit && (st === 'int' || st === 'frac')) return [s];
      if (ch === '.' && !top.integer && (st === 'zero' || st === 'int')) {
        top.st = 'dot';
        return [s];
      }
      s.pop();
      return step(valueEnded(s), ch);
    }
    case 'obj':
      return WS.has(ch) ? [s] : stepObject(s, top, ch);
    case 'arr': {
      if (WS.has(ch)) return [s];
      if (top.st === 'open' || top.st === 'comma') {
        if (ch === ']' && top.st === 'open') {
          if (top.min > 0) return [];
          s.pop();
          return [valueEnded(s)];
        }
        top.st = 'val';
        top.count++;
        s.push({ t: 'value', node: top.items });
        return step(s, ch);
      }
      if (top.st === 'after') {
        if (ch === ',') {
          top.st = 'comma';
          return [s];
        }
        if (ch === ']' && top.count >= top.min) {
          s.pop();
          return [valueEnded(s)];
        }
      }
      return [];
    }
  }
}

/** A value of `node` starting with `ch`: one stack per alternative that allows it. */
function start(s: Stack, node: SchemaNode, ch: string): Stack[] {
  const n = resolve(node);
  if (n.kind === 'anyOf') return n.options.flatMap((o) => start(cloneStack(s), o, ch));
  s.pop();
  switch (n.kind) {
    case 'string':
      if (ch !== '"') return [];
      s.push({ t: 'str', min: n.minLength, ...(n.maxLength !== undefined ? { max: n.maxLength } : {}), len: 0, esc: 0 });
      return [s];
    case 'object':
      if (ch !== '{') return [];
      s.push({ t: 'obj', props: n.props, ...(n.anyKeys ? { anyKeys: n.anyKeys } : {}), seen: [], next: 0, st: 'open' });
      return [s];
    case 'array':
      if (ch !== '[') return [];
      s.push({ t: 'arr', items: n.items, min: n.minItems, count: 0, st: 'open' });
      return [s];
    case 'number':
      if (ch === '-') s.push({ t: 'num', integer: n.integer, st: 'sign' });
      else if (ch >= '0' && ch <= '9') s.push({ t: 'num', integer: n.integer, st: ch === '0' ? 'zero' : 'int' });
      else return [];
      return [s];
    case 'literal':
      s.push({ t: 'lit', texts: n.texts, text: '', key: false });
      return step(s, ch);
  }
}

function stepString(s: Stack, top: Extract<Frame, { t: 'str' }>, ch: string): Stack[] {
  if (top.esc === 1) {
    if (ch === 'u') top.esc = 2;
    else if ('"\\/bfnrt'.includes(ch)) {
      top.esc = 0;
      top.len++;
    } else return [];
    return [s];
  }
  if (top.esc >= 2) {
    if (!HEX.test(ch)) return [];
    top.esc = top.esc === 5 ? 0 : top.esc + 1;
    if (top.esc === 0) top.len++;
    return [s];
  }
  if (ch === '"') {
    if (top.len < top.min) return [];
    s.pop();
    return [valueEnded(s)];
  }
  if (top.max !== undefined && top.len >= top.max) return [];
  if (ch === '\\') top.esc = 1;
  else if (ch.codePointAt(0)! < 0x20) return [];
  else top.len++;
  return [s];
}

function stepObject(s: Stack, top: Extract<Frame, { t: 'obj' }>, ch: string): Stack[] {
  switch (top.st) {
    case 'open':
    case 'comma':
      if (ch === '}' && top.st === 'open' && missingRequired(top).length === 0) {
        s.pop();
        return [valueEnded(s)];
      }
      if (ch !== '"') return [];
      top.st = 'key';
      if (top.anyKeys) {
        delete top.key;
        s.push({ t: 'str', min: 0, len: 0, esc: 0 });
        return [s];
      } else {
        const prop = top.props[top.next++];
        if (!prop) return [];
        top.key = prop.key;
        top.seen.push(prop.key);
        s.push({ t: 'lit', texts: [JSON.stringify(prop.key)], text: '', key: true });
        return step(s, ch);
      }
    case 'colon':
      if (ch !== ':') return [];
      top.st = 'val';
      s.push({ t: 'value', node: propNode(top) });
      return [s];
    case 'after':
      if (ch === ',') {
        top.st = 'comma';
        return [s];
      }
      if (ch === '}' && missingRequired(top).length === 0) {
        s.pop();
        return [valueEnded(s)];
      }
      return [];
    default:
      return [];
  }
}

/** After a child value (or a property name) ended: the parent's next state. */
function valueEnded(s: Stack): Stack {
  const parent = s.at(-1);
  if (parent?.t === 'obj') parent.st = parent.st === 'key' ? 'colon' : 'after';
  else if (parent?.t === 'arr') parent.st = 'after';
  return s;
}

function propNode(f: Extract<Frame, { t: 'obj' }>): SchemaNode {
  return (f.key !== undefined ? f.props.find((p) => p.key === f.key)?.node : undefined) ?? f.anyKeys!;
}

function missingRequired(f: Extract<Frame, { t: 'obj' }>): ObjectProp[] {
  return f.props.filter((p) => p.required && !f.seen.includes(p.key));
}

const shortest = (xs: Array<string | undefined>) => xs.reduce<string | undefined>((a, x) => (x === undefined ? a : a === undefined || x.length < a.length ? x : a), undefined);

/** The missing required members, each with its shortest value, then `}`. */
function objectRest(f: Extract<Frame, { t: 'obj' }>, minimal: Map<SchemaNode, string>, leadingComma: boolean): string | undefined {
  const parts: string[] = [];
  for (const p of missingRequired(f)) {
    const v = minimal.get(p.node);
    if (v === undefined) return undefined;
    parts.push(`${JSON.stringify(p.key)}:${v}`);
  }
  return parts.length ? `${leadingComma ? ',' : ''}${parts.join(',')}}` : '}';
}

/** What completes one frame, given that the frames above it are complete. */
function frameCompletion(f: Frame, minimal: Map<SchemaNode, string>): string | undefined {
  switch (f.t) {
    case 'value':
      return minimal.get(f.node);
    case 'str': {
      let part = '';
      let len = f.len;
      if (f.esc === 1) part += 'n';
      else if (f.esc >= 2) part += '0'.repeat(4 - (f.esc - 2));
      if (f.esc) len++;
      return `${part}${'a'.repeat(Math.max(0, f.min - len))}"`;
    }
    case 'lit':
      return shortest(f.texts.filter((t) => t.startsWith(f.text)).map((t) => t.slice(f.text.length)));
    case 'num':
      return f.st === 'dot' ? '0' : f.st === 'sign' ? (f.integer ? '1' : '0') : '';
    case 'obj': {
      switch (f.st) {
        case 'open':
          return objectRest(f, minimal, false);
        case 'comma': {
          // After a comma one more member must come: a missing required one, else the shortest other.
          if (missingRequired(f).length) return objectRest(f, minimal, false);
          if (f.anyKeys) return `"":${minimal.get(f.anyKeys)}}`;
          const m = shortest(f.props.filter((p) => !f.seen.includes(p.key)).map((p) => (minimal.has(p.node) ? `${JSON.stringify(p.key)}:${minimal.get(p.node)}` : undefined)));
          return m === undefined ? undefined : `${m}}`;
        }
        case 'key':
        case 'colon': {
          const v = minimal.get(propNode(f));
          const rest = objectRest(f, minimal, true);
          return v === undefined || rest === undefined ? undefined : `:${v}${rest}`;
        }
        default:
          return objectRest(f, minimal, true);
      }
    }
    case 'arr': {
      const need = f.st === 'comma' ? Math.max(1, f.min - f.count) : Math.max(0, f.min - f.count);
      const item = minimal.get(f.items);
      if (need > 0 && item === undefined) return undefined;
      const items = Array<string>(need).fill(item ?? '').join(',');
      return f.st === 'open' || f.st === 'comma' ? `${items}]` : `${need ? ',' : ''}${items}]`;
    }
  }
}

function stackCompletion(s: Stack, minimal: Map<SchemaNode, string>): string | undefined {
  let out = '';
  for (let i = s.length - 1; i >= 0; i--) {
    const part = frameCompletion(s[i]!, minimal);
    if (part === undefined) return undefined;
    out += part;
  }
  return out;
}
