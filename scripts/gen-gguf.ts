/**
 * Writes small llama-architecture GGUF files with random weights, for tests and
 * benchmarks of the LLM runtime (no model can be downloaded here).
 *
 *   node dist/scripts/gen-gguf.js OUT.gguf [--preset tiny|bench] [--type q8_0|f16|f32]
 *        [--seed N] [--embd N] [--layers N] [--heads N] [--kv-heads N] [--ff N]
 *        [--vocab N] [--ctx N] [--chat-template chatml|none] [--tied-output-rows N]
 *
 * The vocabulary is SentencePiece-style ("llama" tokenizer): <unk>, <s>, </s>, the
 * 256 byte-fallback tokens (so any text, newline included, tokenizes), single
 * printable characters, and pseudo-words written `▁word` with every `▁` prefix
 * of each word, so the SPM merge path reaches whole words. Every token string is
 * valid UTF-8. Output is deterministic for a seed.
 */
import { writeFileSync } from 'node:fs';
import { mulberry32 } from '../src/quantize/seeded-random.js';

export type GgufTensorType = 'f32' | 'f16' | 'q8_0';

export interface GgufModelOptions {
  embd: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ff: number;
  /** Approximate vocabulary size (whole words are added until it is reached). */
  vocab: number;
  /** Trained context length written as llama.context_length. */
  ctx: number;
  type: GgufTensorType;
  seed: number;
  /** `chatml` writes tokenizer.chat_template and the <|im_start|>/<|im_end|> control tokens. */
  chatTemplate: 'chatml' | 'none';
  name: string;
  /**
   * The output rows of the last this many tokens (words) are one row, so their logits tie
   * exactly, as those of a real vocabulary's untrained tokens do. Default none.
   */
  tiedOutputRows?: number;
}

export const GGUF_PRESETS: Record<'tiny' | 'bench', Omit<GgufModelOptions, 'type' | 'seed' | 'chatTemplate' | 'name'>> = {
  // ~0.5M parameters: loads and generates in milliseconds, for tests.
  tiny: { embd: 64, layers: 2, heads: 4, kvHeads: 2, ff: 128, vocab: 3000, ctx: 4096 },
  // ~40M parameters: the LLM benchmark's model.
  bench: { embd: 512, layers: 10, heads: 8, kvHeads: 8, ff: 1408, vocab: 8000, ctx: 4096 },
};

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const TOKEN_NORMAL = 1;
const TOKEN_UNKNOWN = 2;
const TOKEN_CONTROL = 3;
const TOKEN_BYTE = 6;

export interface Vocab {
  tokens: string[];
  scores: number[];
  types: number[];
  bos: number;
  eos: number;
  unk: number;
}

/** The word-level SPM vocabulary described in the file comment. */
export function buildVocab(target: number, seed: number, chatml: boolean): Vocab {
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  const index = new Map<string, number>();
  const add = (t: string, type: number, score: number) => {
    if (index.has(t)) return;
    index.set(t, tokens.length);
    tokens.push(t);
    scores.push(score);
    types.push(type);
  };
  add('<unk>', TOKEN_UNKNOWN, 0);
  add('<s>', TOKEN_CONTROL, 0);
  add('</s>', TOKEN_CONTROL, 0);
  if (chatml) {
    add('<|im_start|>', TOKEN_CONTROL, 0);
    add('<|im_end|>', TOKEN_CONTROL, 0);
  }
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, TOKEN_BYTE, 0);
  // Single characters: printable ASCII (space as ▁) — JSON punctuation, digits and letters.
  add('\u2581', TOKEN_NORMAL, -1);
  for (let c = 33; c < 127; c++) add(String.fromCharCode(c), TOKEN_NORMAL, -1);
  for (const s of ['\u2581{', '\u2581"', '":', '",', '\u2581}', '\u2581[', '\u2581]', '\u25811', '\u25810']) add(s, TOKEN_NORMAL, -0.5);
  const rand = mulberry32(seed ^ 0x9e3779b9);
  const onsets = ['b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'z', 'br', 'ch', 'st', 'tr', 'pl', 'gr', 'th', 'sh'];
  const vowels = ['a', 'e', 'i', 'o', 'u', 'ai', 'ou', 'ea'];
  const codas = ['', '', '', 'n', 'r', 's', 't', 'l', 'm', 'nd', 'st'];
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  let guard = 0;
  while (tokens.length < target && guard++ < target * 50) {
    const syllables = 1 + Math.floor(rand() * 3);
    let word = '';
    for (let s = 0; s < syllables; s++) word += pick(onsets) + pick(vowels) + pick(codas);
    const piece = `\u2581${word}`;
    // Every ▁-prefix, so SPM's pairwise merges can build the whole word; longer pieces score higher.
    for (let i = 2; i <= piece.length; i++) add(piece.slice(0, i), TOKEN_NORMAL, i === piece.length ? -1 + i / 100 : -2 + i / 100);
  }
  const id = (t: string) => index.get(t)!;
  return { tokens, scores, types, bos: id('<s>'), eos: chatml ? id('<|im_end|>') : id('</s>'), unk: id('<unk>') };
}

// ---- GGUF writer -------------------------------------------------------------

const GGUF_TYPE = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10 } as const;
const GGML_TYPE: Record<GgufTensorType, number> = { f32: 0, f16: 1, q8_0: 8 };
const FILE_TYPE: Record<GgufTensorType, number> = { f32: 0, f16: 1, q8_0: 7 };
const ALIGNMENT = 32;

type MetaValue =
  | { t: 'u32'; v: number }
  | { t: 'f32'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'str'; v: string }
  | { t: 'str[]'; v: string[] }
  | { t: 'f32[]'; v: number[] }
  | { t: 'i32[]'; v: number[] };

class ByteWriter {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  pad(): void {
    const rem = this.length % ALIGNMENT;
    if (rem) this.push(Buffer.alloc(ALIGNMENT - rem));
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function writeMeta(w: ByteWriter, key: string, value: MetaValue): void {
  w.str(key);
  switch (value.t) {
    case 'u32': w.u32(GGUF_TYPE.UINT32); w.u32(value.v); break;
    case 'f32': w.u32(GGUF_TYPE.FLOAT32); w.f32(value.v); break;
    case 'bool': w.u32(GGUF_TYPE.BOOL); w.push(Buffer.from([value.v ? 1 : 0])); break;
    case 'str': w.u32(GGUF_TYPE.STRING); w.str(value.v); break;
    case 'str[]': w.u32(GGUF_TYPE.ARRAY); w.u32(GGUF_TYPE.STRING); w.u64(value.v.length); for (const s of value.v) w.str(s); break;
    case 'f32[]': w.u32(GGUF_TYPE.ARRAY); w.u32(GGUF_TYPE.FLOAT32); w.u64(value.v.length); for (const x of value.v) w.f32(x); break;
    case 'i32[]': w.u32(GGUF_TYPE.ARRAY); w.u32(GGUF_TYPE.INT32); w.u64(value.v.length); for (const x of value.v) w.i32(x); break;
  }
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
/** IEEE binary16 from a float (round to nearest even; enough for weights and scales). */
function toHalf(x: number): number {
  f32buf[0] = x;
  const bits = u32buf[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = ((bits >>> 23) & 0xff) - 127 + 15;
  let mant = bits & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let h = mant >>> shift;
    if ((mant >>> (shift - 1)) & 1) h++;
    return sign | h;
  }
  if (exp >= 31) return sign | 0x7c00;
  let h = sign | (exp << 10) | (mant >>> 13);
  if (mant & 0x1000 && (mant & 0x2fff) !== 0) h++;
  return h;
}

/** Encodes float weights in a ggml type (rows of `ne0` values). */
export function encodeTensor(data: Float32Array, type: GgufTensorType): Buffer {
  if (type === 'f32') return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (type === 'f16') {
    const out = Buffer.alloc(data.length * 2);
    for (let i = 0; i < data.length; i++) out.writeUInt16LE(toHalf(data[i]!), i * 2);
    return out;
  }
  // Q8_0: blocks of 32 values, an f16 scale then 32 int8 quants.
  if (data.length % 32) throw new Error('Q8_0 needs a multiple of 32 values');
  const blocks = data.length / 32;
  const out = Buffer.alloc(blocks * 34);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(data[b * 32 + j]!));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    out.writeUInt16LE(toHalf(d), b * 34);
    for (let j = 0; j < 32; j++) out.writeInt8(Math.round(data[b * 32 + j]! * id), b * 34 + 2 + j);
  }
  return out;
}

interface TensorEntry {
  name: string;
  /** ggml order: ne0 (contiguous) first. */
  dims: number[];
  type: GgufTensorType;
  data: Buffer;
}

export function parameterCount(o: Pick<GgufModelOptions, 'embd' | 'layers' | 'heads' | 'kvHeads' | 'ff'>, vocab: number): number {
  const kv = (o.embd / o.heads) * o.kvHeads;
  const layer = o.embd * (2 * o.embd + 2 * kv) + 3 * o.embd * o.ff + 2 * o.embd;
  return 2 * vocab * o.embd + o.layers * layer + o.embd;
}

/** Builds the GGUF bytes of a random-weight llama model. */
export function buildGguf(opts: GgufModelOptions): Buffer {
  const { embd, layers, heads, kvHeads, ff, type } = opts;
  if (embd % heads || heads % kvHeads) throw new Error('embd must divide by heads, heads by kvHeads');
  if (type === 'q8_0' && (embd % 32 || ff % 32)) throw new Error('Q8_0 needs embd and ff multiples of 32');
  const vocab = buildVocab(opts.vocab, opts.seed, opts.chatTemplate === 'chatml');
  const nVocab = vocab.tokens.length;
  const headDim = embd / heads;
  const kvDim = headDim * kvHeads;
  const rand = mulberry32(opts.seed);
  // Approximately normal (sum of uniforms), scaled like an initialised transformer.
  const randn = () => rand() + rand() + rand() - 1.5;
  const tensors: TensorEntry[] = [];
  const weight = (name: string, ne0: number, ne1: number, scale: number, tiedRows = 0) => {
    const data = new Float32Array(ne0 * ne1);
    for (let i = 0; i < data.length; i++) data[i] = randn() * scale;
    const first = (ne1 - tiedRows) * ne0;
    for (let row = first + ne0; row < data.length; row += ne0) data.copyWithin(row, first, first + ne0);
    tensors.push({ name, dims: [ne0, ne1], type, data: encodeTensor(data, type) });
  };
  const norm = (name: string) => {
    const data = new Float32Array(embd).fill(1);
    tensors.push({ name, dims: [embd], type: 'f32', data: encodeTensor(data, 'f32') });
  };
  const s = 1 / Math.sqrt(embd);
  weight('token_embd.weight', embd, nVocab, 1);
  for (let l = 0; l < layers; l++) {
    norm(`blk.${l}.attn_norm.weight`);
    weight(`blk.${l}.attn_q.weight`, embd, embd, s);
    weight(`blk.${l}.attn_k.weight`, embd, kvDim, s);
    weight(`blk.${l}.attn_v.weight`, embd, kvDim, s);
    weight(`blk.${l}.attn_output.weight`, embd, embd, s);
    norm(`blk.${l}.ffn_norm.weight`);
    weight(`blk.${l}.ffn_gate.weight`, embd, ff, s);
    weight(`blk.${l}.ffn_up.weight`, embd, ff, s);
    weight(`blk.${l}.ffn_down.weight`, ff, embd, 1 / Math.sqrt(ff));
  }
  norm('output_norm.weight');
  weight('output.weight', embd, nVocab, s * 4, Math.min(opts.tiedOutputRows ?? 0, nVocab));

  const meta: Array<[string, MetaValue]> = [
    ['general.architecture', { t: 'str', v: 'llama' }],
    ['general.name', { t: 'str', v: opts.name }],
    ['general.file_type', { t: 'u32', v: FILE_TYPE[type] }],
    ['general.alignment', { t: 'u32', v: ALIGNMENT }],
    ['llama.context_length', { t: 'u32', v: opts.ctx }],
    ['llama.embedding_length', { t: 'u32', v: embd }],
    ['llama.block_count', { t: 'u32', v: layers }],
    ['llama.feed_forward_length', { t: 'u32', v: ff }],
    ['llama.attention.head_count', { t: 'u32', v: heads }],
    ['llama.attention.head_count_kv', { t: 'u32', v: kvHeads }],
    ['llama.rope.dimension_count', { t: 'u32', v: headDim }],
    ['llama.rope.freq_base', { t: 'f32', v: 10000 }],
    ['llama.attention.layer_norm_rms_epsilon', { t: 'f32', v: 1e-5 }],
    ['llama.vocab_size', { t: 'u32', v: nVocab }],
    ['tokenizer.ggml.model', { t: 'str', v: 'llama' }],
    ['tokenizer.ggml.tokens', { t: 'str[]', v: vocab.tokens }],
    ['tokenizer.ggml.scores', { t: 'f32[]', v: vocab.scores }],
    ['tokenizer.ggml.token_type', { t: 'i32[]', v: vocab.types }],
    ['tokenizer.ggml.bos_token_id', { t: 'u32', v: vocab.bos }],
    ['tokenizer.ggml.eos_token_id', { t: 'u32', v: vocab.eos }],
    ['tokenizer.ggml.unknown_token_id', { t: 'u32', v: vocab.unk }],
    ['tokenizer.ggml.add_bos_token', { t: 'bool', v: true }],
    ['tokenizer.ggml.add_eos_token', { t: 'bool', v: false }],
  ];
  if (opts.chatTemplate === 'chatml') meta.push(['tokenizer.chat_template', { t: 'str', v: CHATML_TEMPLATE }]);

  const w = new ByteWriter();
  w.push(Buffer.from('GGUF', 'ascii'));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(meta.length);
  for (const [k, v] of meta) writeMeta(w, k, v);
  let offset = 0;
  for (const t of tensors) {
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(GGML_TYPE[t.type]);
    w.u64(offset);
    offset += Math.ceil(t.data.length / ALIGNMENT) * ALIGNMENT;
  }
  w.pad();
  for (const t of tensors) {
    w.push(t.data);
    w.pad();
  }
  return w.concat();
}

export function writeGguf(path: string, options: Partial<GgufModelOptions> & { preset?: 'tiny' | 'bench' } = {}): { path: string; bytes: number; parameters: number; vocab: number } {
  const preset = GGUF_PRESETS[options.preset ?? 'tiny'];
  const opts: GgufModelOptions = { ...preset, type: 'q8_0', seed: 1, chatTemplate: 'chatml', name: `random-llama-${options.preset ?? 'tiny'}`, ...options };
  const bytes = buildGguf(opts);
  writeFileSync(path, bytes);
  const vocab = buildVocab(opts.vocab, opts.seed, opts.chatTemplate === 'chatml').tokens.length;
  return { path, bytes: bytes.length, parameters: parameterCount(opts, vocab), vocab };
}

function main(argv: string[]): void {
  const out = argv[0];
  if (!out || out.startsWith('--')) {
    console.error('usage: gen-gguf OUT.gguf [--preset tiny|bench] [--type q8_0|f16|f32] [--seed N] [--embd N] [--layers N] [--heads N] [--kv-heads N] [--ff N] [--vocab N] [--ctx N] [--chat-template chatml|none] [--tied-output-rows N]');
    process.exit(2);
  }
  const opts: Partial<GgufModelOptions> & { preset?: 'tiny' | 'bench' } = {};
  const num = (k: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${k} must be a positive integer`);
    return n;
  };
  for (let i = 1; i < argv.length; i += 2) {
    const k = argv[i]!.replace(/^--/, '');
    const v = argv[i + 1] ?? '';
    switch (k) {
      case 'preset': opts.preset = v as 'tiny' | 'bench'; break;
      case 'type': opts.type = v.toLowerCase() as GgufTensorType; break;
      case 'seed': opts.seed = num(k, v); break;
      case 'embd': opts.embd = num(k, v); break;
      case 'layers': opts.layers = num(k, v); break;
      case 'heads': opts.heads = num(k, v); break;
      case 'kv-heads': opts.kvHeads = num(k, v); break;
      case 'ff': opts.ff = num(k, v); break;
      case 'vocab': opts.vocab = num(k, v); break;
      case 'ctx': opts.ctx = num(k, v); break;
      case 'chat-template': opts.chatTemplate = v === 'none' ? 'none' : 'chatml'; break;
      case 'tied-output-rows': opts.tiedOutputRows = num(k, v); break;
      default: throw new Error(`unknown flag --${k}`);
    }
  }
  const r = writeGguf(out, opts);
  console.log(`${r.path}: ${r.bytes} bytes, ${r.parameters} parameters, ${r.vocab} tokens`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) main(process.argv.slice(2));
