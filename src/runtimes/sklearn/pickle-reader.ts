/**
 * A pickle virtual machine (protocols 2–5) that never runs code. GLOBAL names are
 * checked against the allow-list and objects become PyObject data; numpy arrays
 * are rebuilt from their bytes. Every length is checked before it is trusted.
 */
import { InferdError } from '../../api/errors.js';
import { DecodeBudget } from '../decode-budget.js';
import { isAllowed, SPECIAL } from './allow-list.js';
import { checkShape, DType, fillArray, NdArray, setArrayState } from './ndarray.js';
import { Cursor } from './cursor.js';
import { bad, PyDict, PyGlobal, PyObject, PySet, PySlice, typeName, type PyVal } from './py-values.js';

export { Cursor };

export interface PickleLimits {
  /** Largest number of elements in one numpy array. */
  maxElements: number;
  /** Deepest container nesting. */
  maxDepth: number;
  /** Most values on the VM stack at once. */
  maxStack: number;
  /** Most open MARKs. */
  maxMarks: number;
  /** Most memo entries. */
  maxMemo: number;
}

export const DEFAULT_LIMITS: PickleLimits = {
  maxElements: 1 << 28, maxDepth: 200, maxStack: 1 << 17, maxMarks: 1000, maxMemo: 1 << 22,
};

const utf8 = new TextDecoder('utf-8');
const latin1 = new TextDecoder('latin1');
const MARK = Symbol('mark');
type Slot = PyVal | typeof MARK;

export interface ReadOptions {
  limits: PickleLimits;
  /** Interpret joblib's NumpyArrayWrapper: the array bytes follow in the stream. */
  joblib: boolean;
  /** Charged by every array the model's builders expand (see NdArray.charge). */
  budget?: DecodeBudget;
}

/** Runs one pickle stream from the cursor to its STOP opcode and returns the result. */
export function readPickle(cur: Cursor, opts: ReadOptions, nested = 0): PyVal {
  return new Machine(cur, opts, nested).run();
}

class Machine {
  private readonly stack: Slot[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PyVal>();
  private readonly depth = new WeakMap<object, number>();
  private readonly limits: PickleLimits;
  private readonly budget: DecodeBudget;

  constructor(private readonly cur: Cursor, private readonly opts: ReadOptions, private readonly nested: number) {
    this.limits = opts.limits;
    this.budget = opts.budget ?? new DecodeBudget();
  }

  run(): PyVal {
    const cur = this.cur;
    for (;;) {
      if (cur.pos >= cur.buf.byteLength) throw bad(`pickle is truncated: stream ended at offset ${cur.pos} without a STOP opcode`);
      const at = cur.pos;
      const op = cur.u8('opcode');
      switch (op) {
        case 0x80: { // PROTO
          const v = cur.u8('protocol');
          if (v < 2 || v > 5) throw bad(`pickle protocol ${v} is not supported (2 to 5 are)`);
          break;
        }
        case 0x95: cur.u64('frame length'); break; // FRAME: frames are transparent in memory
        case 0x2e: { // STOP
          const v = this.pop();
          return v;
        }
        case 0x28: // MARK
          if (this.marks.length >= this.limits.maxMarks) throw bad(`pickle nests deeper than ${this.limits.maxMarks} marks (nesting bomb?)`);
          this.marks.push(this.stack.length);
          break;
        case 0x30: this.pop(); break; // POP
        case 0x31: this.popMark(); break; // POP_MARK
        case 0x32: this.push(this.peek()); break; // DUP
        case 0x4e: this.push(null); break; // NONE
        case 0x88: this.push(true); break; // NEWTRUE
        case 0x89: this.push(false); break; // NEWFALSE
        case 0x4a: this.push(cur.view(4, 'BININT').getInt32(0, true)); break;
        case 0x4b: this.push(cur.u8('BININT1')); break;
        case 0x4d: this.push(cur.view(2, 'BININT2').getUint16(0, true)); break;
        case 0x8a: this.push(long(cur.take(cur.u8('LONG1 length'), 'LONG1'))); break;
        case 0x8b: {
          const n = cur.u32('LONG4 length');
          if (n > 4096) throw bad(`pickle LONG4 of ${n} bytes is unreasonably large`);
          this.push(long(cur.take(n, 'LONG4')));
          break;
        }
        case 0x47: this.push(cur.view(8, 'BINFLOAT').getFloat64(0, false)); break;
        case 0x58: this.push(utf8.decode(cur.take(cur.u32('BINUNICODE length'), 'BINUNICODE'))); break;
        case 0x8c: this.push(utf8.decode(cur.take(cur.u8('SHORT_BINUNICODE length'), 'SHORT_BINUNICODE'))); break;
        case 0x8d: this.push(utf8.decode(cur.take(cur.u64('BINUNICODE8 length'), 'BINUNICODE8'))); break;
        case 0x54: this.push(latin1.decode(cur.take(cur.u32('BINSTRING length'), 'BINSTRING'))); break;
        case 0x55: this.push(latin1.decode(cur.take(cur.u8('SHORT_BINSTRING length'), 'SHORT_BINSTRING'))); break;
        case 0x42: this.push(cur.take(cur.u32('BINBYTES length'), 'BINBYTES')); break;
        case 0x43: this.push(cur.take(cur.u8('SHORT_BINBYTES length'), 'SHORT_BINBYTES')); break;
        case 0x8e: this.push(cur.take(cur.u64('BINBYTES8 length'), 'BINBYTES8')); break;
        case 0x96: this.push(cur.take(cur.u64('BYTEARRAY8 length'), 'BYTEARRAY8').slice()); break;
        case 0x97: throw bad('pickle uses out-of-band buffers (NEXT_BUFFER), which a model file cannot carry');
        case 0x98: break; // READONLY_BUFFER
        case 0x5d: this.push([]); break; // EMPTY_LIST
        case 0x29: this.push([]); break; // EMPTY_TUPLE
        case 0x7d: this.push(new PyDict()); break; // EMPTY_DICT
        case 0x8f: this.push(new PySet([], false)); break; // EMPTY_SET
        case 0x61: { // APPEND
          const v = this.pop();
          this.appendTo(this.peek(), [v]);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.popMark();
          this.appendTo(this.peek(), items);
          break;
        }
        case 0x6c: this.push(this.container(this.popMark())); break; // LIST
        case 0x74: this.push(this.container(this.popMark())); break; // TUPLE
        case 0x85: this.push(this.container(this.popN(1))); break;
        case 0x86: this.push(this.container(this.popN(2))); break;
        case 0x87: this.push(this.container(this.popN(3))); break;
        case 0x64: { // DICT
          const d = new PyDict();
          this.setItems(d, this.popMark());
          this.push(d);
          break;
        }
        case 0x73: { // SETITEM
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.peek(), [k, v]);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.popMark();
          this.setItems(this.peek(), items);
          break;
        }
        case 0x90: { // ADDITEMS
          const items = this.popMark();
          const s = this.peek();
          if (!(s instanceof PySet)) throw bad('pickle ADDITEMS on a non-set');
          for (const v of items) this.nest(s, v);
          s.items.push(...items);
          break;
        }
        case 0x91: this.push(new PySet(this.popMark(), true)); break; // FROZENSET
        case 0x63: this.push(resolve(cur.line('GLOBAL module'), cur.line('GLOBAL name'))); break;
        case 0x93: { // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') throw bad('pickle STACK_GLOBAL with non-string names');
          this.push(resolve(module, name));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.pop();
          const fn = this.pop();
          this.push(this.reduce(fn, args));
          break;
        }
        case 0x81: { // NEWOBJ
          const args = this.pop();
          const cls = this.pop();
          this.push(this.newObject(cls, args));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          this.pop();
          const args = this.pop();
          const cls = this.pop();
          this.push(this.newObject(cls, args));
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          this.build(this.peek(), state);
          break;
        }
        case 0x70: this.put(Number(cur.line('PUT index'))); break;
        case 0x71: this.put(cur.u8('BINPUT')); break;
        case 0x72: this.put(cur.u32('LONG_BINPUT')); break;
        case 0x94: this.put(this.memo.size); break; // MEMOIZE
        case 0x67: this.get(Number(cur.line('GET index'))); break;
        case 0x68: this.get(cur.u8('BINGET')); break;
        case 0x6a: this.get(cur.u32('LONG_BINGET')); break;
        case 0x50: case 0x51: throw bad('pickle uses persistent ids, which a model file cannot carry');
        case 0x82: case 0x83: case 0x84: throw bad('pickle uses the copyreg extension registry, which is not supported');
        case 0x69: case 0x6f: throw bad('pickle uses protocol 0/1 object opcodes (INST/OBJ), which are not supported');
        default:
          throw bad(`pickle is corrupt or not a pickle: opcode 0x${op.toString(16).padStart(2, '0')} at offset ${at}`);
      }
    }
  }

  // ---------------------------------------------------------------- stack
  private push(v: PyVal): void {
    if (this.stack.length >= this.limits.maxStack) throw bad(`pickle stack exceeds ${this.limits.maxStack} values (bomb?)`);
    this.stack.push(v);
  }
  private pop(): PyVal {
    const base = this.marks.length ? this.marks[this.marks.length - 1]! : 0;
    if (this.stack.length <= base) throw bad(`pickle is corrupt: stack underflow at offset ${this.cur.pos - 1}`);
    return this.stack.pop() as PyVal;
  }
  private peek(): PyVal {
    const base = this.marks.length ? this.marks[this.marks.length - 1]! : 0;
    if (this.stack.length <= base) throw bad(`pickle is corrupt: stack underflow at offset ${this.cur.pos - 1}`);
    return this.stack[this.stack.length - 1] as PyVal;
  }
  private popN(n: number): PyVal[] {
    const out = new Array<PyVal>(n);
    for (let i = n - 1; i >= 0; i--) out[i] = this.pop();
    return out;
  }
  private popMark(): PyVal[] {
    const m = this.marks.pop();
    if (m === undefined) throw bad('pickle is corrupt: no MARK to pop to');
    return this.stack.splice(m) as PyVal[];
  }
  private put(i: number): void {
    if (!Number.isInteger(i) || i < 0) throw bad('pickle is corrupt: bad memo index');
    if (this.memo.size >= this.limits.maxMemo && !this.memo.has(i)) throw bad(`pickle memo exceeds ${this.limits.maxMemo} entries`);
    this.memo.set(i, this.peek());
  }
  private get(i: number): void {
    if (!this.memo.has(i)) throw bad(`pickle is corrupt: memo entry ${i} is read before it is written`);
    this.push(this.memo.get(i)!);
  }

  // ---------------------------------------------------------------- nesting
  private depthOf(v: PyVal): number {
    return typeof v === 'object' && v !== null ? (this.depth.get(v) ?? 0) : 0;
  }
  private nest(parent: object, child: PyVal): void {
    const d = this.depthOf(child) + 1;
    if (d > (this.depth.get(parent) ?? 0)) {
      if (d > this.limits.maxDepth) throw bad(`pickle nests containers deeper than ${this.limits.maxDepth} levels (nesting bomb?)`);
      this.depth.set(parent, d);
    }
  }
  private container(items: PyVal[]): PyVal[] {
    for (const v of items) this.nest(items, v);
    return items;
  }
  private appendTo(target: PyVal, items: PyVal[]): void {
    if (!Array.isArray(target)) throw bad(`pickle APPEND on ${typeName(target)}`);
    for (const v of items) this.nest(target, v);
    for (const v of items) target.push(v);
  }
  private setItems(target: PyVal, items: PyVal[]): void {
    const dict = target instanceof PyObject ? target.dict : target;
    if (!(dict instanceof PyDict)) throw bad(`pickle SETITEM on ${typeName(target)}`);
    if (items.length % 2) throw bad('pickle is corrupt: odd number of dict items');
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i]!;
      if (typeof k === 'object' && k !== null) throw bad('pickle dict has a non-primitive key');
      this.nest(dict, items[i + 1]!);
      dict.map.set(k, items[i + 1]!);
    }
  }

  // ---------------------------------------------------------------- objects
  private newObject(cls: PyVal, args: PyVal): PyObject {
    if (!(cls instanceof PyGlobal)) throw bad(`pickle NEWOBJ on ${typeName(cls)}`);
    if (SPECIAL.has(cls.full)) throw bad(`pickle NEWOBJ on ${cls.full} is not supported`);
    const obj = new PyObject(cls.full, Array.isArray(args) ? args : []);
    for (const a of obj.args) this.nest(obj, a);
    return obj;
  }

  private reduce(fn: PyVal, args: PyVal): PyVal {
    if (!(fn instanceof PyGlobal)) throw bad(`pickle REDUCE calls ${typeName(fn)}, which is not a global`);
    if (!Array.isArray(args)) throw bad(`pickle REDUCE of ${fn.full} without an argument tuple`);
    const special = SPECIAL.get(fn.full);
    const a0 = args[0];
    switch (special) {
      case 'ndarray': return new NdArray(DType.parse('u1'), [0], this.budget);
      case 'dtype':
        if (typeof a0 !== 'string') throw bad('numpy.dtype with a non-string type');
        return DType.parse(a0);
      case 'scalar': return scalar(args);
      case 'frombuffer': {
        const [buf, dtype, shape, order] = args;
        if (!(dtype instanceof DType)) throw bad('numpy _frombuffer without a dtype');
        const arr = new NdArray(dtype, checkShape(shape ?? null, this.limits.maxElements), this.budget);
        arr.fortran = order === 'F';
        fillArray(arr, buf ?? null);
        return arr;
      }
      case 'encode': {
        if (typeof a0 !== 'string') throw bad('_codecs.encode of a non-string');
        return latinBytes(a0, args[1]);
      }
      case 'bytes': case 'bytearray':
        if (args.length === 0) return new Uint8Array(0);
        if (typeof a0 === 'string') return latinBytes(a0, args[1]);
        if (a0 instanceof Uint8Array) return a0.slice();
        throw bad(`${fn.full} with unsupported arguments`);
      case 'set': case 'frozenset':
        if (args.length === 0) return new PySet([], special === 'frozenset');
        if (!Array.isArray(a0)) throw bad(`${fn.full} of ${typeName(a0)}`);
        return new PySet(a0.slice(), special === 'frozenset');
      case 'slice': return new PySlice(args[0] ?? null, args[1] ?? null, args[2] ?? null);
      case 'reconstructor': {
        if (!(a0 instanceof PyGlobal) || SPECIAL.has(a0.full)) throw bad('copyreg._reconstructor of an unsupported class');
        return new PyObject(a0.full, []);
      }
      case 'type': throw bad(`pickle calls ${fn.full}, which is not supported`);
      default: {
        const obj = new PyObject(fn.full, args);
        for (const a of args) this.nest(obj, a);
        return obj;
      }
    }
  }

  private build(target: PyVal, state: PyVal): void {
    if (target instanceof NdArray) return setArrayState(target, state, this.limits.maxElements);
    if (target instanceof DType) return target.setState(state);
    if (!(target instanceof PyObject)) throw bad(`pickle BUILD on ${typeName(target)}`);
    this.nest(target, state);
    let dict = state;
    if (Array.isArray(state) && state.length === 2 && (state[0] instanceof PyDict || state[0] === null)) dict = state[0];
    if (dict instanceof PyDict) for (const [k, v] of dict.map) target.dict.map.set(k, v);
    else target.state = state;
    if (Array.isArray(state) && state.length === 2 && state[1] instanceof PyDict) {
      for (const [k, v] of state[1].map) target.dict.map.set(k, v);
    }
    if (this.opts.joblib && target.cls.endsWith('numpy_pickle.NumpyArrayWrapper')) {
      this.stack[this.stack.length - 1] = this.readWrappedArray(target);
    }
  }

  /** joblib writes the array's bytes (or a nested pickle for object arrays) right after the wrapper. */
  private readWrappedArray(w: PyObject): NdArray {
    const dtype = w.dict.get('dtype');
    if (!(dtype instanceof DType)) throw bad('joblib array wrapper without a dtype');
    const arr = new NdArray(dtype, checkShape(w.dict.get('shape') ?? null, this.limits.maxElements), this.budget);
    const order = w.dict.get('order');
    if (dtype.kind === 'O') {
      if (this.nested > 2) throw bad('joblib object arrays nest too deeply');
      const inner = readPickle(this.cur, { ...this.opts, joblib: false }, this.nested + 1);
      if (!(inner instanceof NdArray) || inner.dtype.kind !== 'O') throw bad('joblib object array data is not an object array');
      if (inner.size !== arr.size) throw bad('joblib object array does not match its declared shape');
      return inner;
    }
    if (w.dict.has('numpy_array_alignment_bytes')) {
      const pad = this.cur.u8('joblib padding length');
      this.cur.take(pad, 'joblib padding');
    }
    arr.fortran = order === 'F' && arr.shape.length > 1;
    fillArray(arr, this.cur.take(arr.size * dtype.itemsize, `joblib array data (${arr.shape.join('x')} ${dtype.str})`));
    return arr;
  }
}

function resolve(module: string, name: string): PyGlobal {
  if (!isAllowed(module, name)) {
    throw new InferdError('invalid_input',
      `model file refers to ${module}.${name}, which the sklearn runtime does not allow: it loads scikit-learn estimators as data and never runs code from a pickle`);
  }
  return new PyGlobal(module, name);
}

function long(b: Uint8Array): number | bigint {
  if (b.byteLength === 0) return 0;
  let v = 0n;
  for (let i = b.byteLength - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.byteLength - 1]! & 0x80) v -= 1n << BigInt(8 * b.byteLength);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function latinBytes(s: string, encoding: PyVal | undefined): Uint8Array {
  if (encoding !== undefined && encoding !== 'latin1' && encoding !== 'latin-1') {
    if (encoding === 'utf-8' || encoding === 'utf8') return new TextEncoder().encode(s);
    throw bad(`_codecs.encode with encoding ${String(encoding)} is not supported`);
  }
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) throw bad('latin-1 byte string holds a character above 255');
    out[i] = c;
  }
  return out;
}

/** numpy.core.multiarray.scalar(dtype, bytes) → a plain number (or the object itself). */
function scalar(args: PyVal[]): PyVal {
  const [dtype, data] = args;
  if (!(dtype instanceof DType)) throw bad('numpy scalar without a dtype');
  if (dtype.kind === 'O') return data ?? null;
  const arr = new NdArray(dtype, []);
  fillArray(arr, data ?? null);
  const v = arr.values()[0];
  return v === undefined ? null : v;
}
