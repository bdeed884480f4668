import { LlamaGrammarEvaluationState, type LlamaContextSequence, type LlamaGrammar, type LlamaModel, type Token, type TokenBias } from 'node-llama-cpp';
import { invalidInput } from '../../api/errors.js';
import { JsonCloser } from './json-closer.js';
import type { SchemaNode } from './json-schema-nodes.js';

/** A schema compiled once: the grammar that constrains sampling and what the closer needs. */
export interface StructuredFormat {
  grammar: LlamaGrammar;
  root: SchemaNode;
  minimal: Map<SchemaNode, string>;
}

export interface StructuredSampling {
  temperature: number;
  topP?: number;
  topK?: number;
  minP?: number;
  seed?: number;
  tokenBias?: TokenBias;
  repeatPenalty?: { penalty: number; presencePenalty?: number; frequencyPenalty?: number };
}

export interface StructuredRun {
  seq: LlamaContextSequence;
  model: LlamaModel;
  format: StructuredFormat;
  /** The whole prompt; a matching prefix already in the sequence is reused. */
  promptTokens: Token[];
  maxTokens: number;
  sampling: StructuredSampling;
  signal: AbortSignal;
  onText: (chunk: string) => void;
  /** Each sampled token, for latency metrics. */
  onToken: () => void;
}

export interface StructuredResult {
  text: string;
  /** Tokens of the text: those sampled into it plus the closing text as it tokenizes. */
  completionTokens: number;
  aborted: boolean;
}

/** Tokens of `text` as the model tokenizes it on its own (no BOS, no leading-space prefix). */
export function tokenCount(model: LlamaModel, text: string): number {
  return text === '' ? 0 : model.tokenize(text, false, 'trimLeadingSpace').length;
}

/** The 400 for a `max_tokens` that cannot hold the shortest valid output. */
export function checkBudget(model: LlamaModel, format: StructuredFormat, maxTokens: number): void {
  const shortest = format.minimal.get(format.root) ?? '';
  const need = tokenCount(model, shortest);
  if (need > maxTokens) {
    throw invalidInput(`max_tokens ${maxTokens} cannot hold the shortest output valid against the schema (${need} tokens); raise max_tokens or simplify the schema`, 'max_tokens');
  }
}

/**
 * Grammar-constrained generation that always ends in a complete, valid value within
 * `maxTokens`. After each sampled token the closer computes the shortest text that
 * completes what was generated; a token is kept only if the tokens so far plus that
 * text's tokens still fit. The first token that would not fit ends sampling, and the
 * closing text of the state before it is appended (streamed like any other text).
 * The closing text is not evaluated by the model: nothing reads the sequence after it.
 */
export async function generateStructured(run: StructuredRun): Promise<StructuredResult> {
  const { seq, model, format, maxTokens, signal } = run;
  let closer = new JsonCloser(format.root, format.minimal);
  const need = (c: JsonCloser, used: number): boolean => {
    const rest = c.completion();
    // A token spans at least one byte: the byte count bounds the token count without tokenizing.
    return used + Buffer.byteLength(rest) <= maxTokens || used + tokenCount(model, rest) <= maxTokens;
  };

  const prompt = run.promptTokens;
  await seq.adaptStateToTokens(prompt.slice(0, -1), false);
  const evalTokens = prompt.slice(Math.min(seq.nextTokenIndex, prompt.length - 1));
  const committed: Token[] = [];
  const pending: Token[] = [];
  let text = '';
  let aborted = false;
  const { repeatPenalty, ...sampling } = run.sampling;
  const iterator = seq.evaluate(evalTokens, {
    ...sampling,
    ...(repeatPenalty ? { repeatPenalty: { ...repeatPenalty, punishTokens: () => committed.slice(-64) } } : {}),
    grammarEvaluationState: new LlamaGrammarEvaluationState({ model, grammar: format.grammar }),
  });
  for await (const token of iterator) {
    if (signal.aborted) {
      aborted = true;
      break;
    }
    run.onToken();
    pending.push(token);
    const used = committed.length + pending.length;
    const chunk = model.detokenize(pending, false, committed);
    if (chunk.endsWith('\uFFFD') && pending.length < 4) {
      // Part of a character: it reaches the text when the character is whole.
      if (need(closer, used)) continue;
      break;
    }
    const next = closer.clone();
    if (!next.feed(chunk) || !need(next, used)) break;
    closer = next;
    committed.push(...pending);
    pending.length = 0;
    text += chunk;
    run.onText(chunk);
    if (closer.done) break;
  }
  if (aborted || signal.aborted) return { text, completionTokens: committed.length, aborted: true };
  const rest = closer.completion();
  if (rest) {
    text += rest;
    run.onText(rest);
  }
  return { text, completionTokens: committed.length + tokenCount(model, rest), aborted: false };
}
