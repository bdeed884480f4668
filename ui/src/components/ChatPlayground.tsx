import { useRef, useState } from 'preact/hooks';
import { streamChat, type ToolCall } from '../lib/chat';
import { ErrorBox } from './ErrorBox';

interface Turn {
  role: 'user' | 'assistant';
  content: string;
  tools?: ToolCall[];
  finish?: string;
}

/** A chat against /v1/chat/completions that shows tokens as they stream in. */
export function ChatPlayground({ namespace, name }: { namespace: string; name: string }) {
  const [turns, setTurns] = useState<Turn[]>([]);
  const [prompt, setPrompt] = useState('');
  const [temperature, setTemperature] = useState('0.7');
  const [maxTokens, setMaxTokens] = useState('128');
  const [schema, setSchema] = useState('');
  const [tools, setTools] = useState('');
  const [toolChoice, setToolChoice] = useState<'auto' | 'required'>('auto');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const abort = useRef<AbortController | null>(null);

  const send = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (!prompt.trim()) return setError(new Error('Type a message first.'));
    let parsedSchema: Record<string, unknown> | undefined;
    if (schema.trim()) {
      try {
        parsedSchema = JSON.parse(schema) as Record<string, unknown>;
      } catch {
        return setError(new Error('The JSON schema is not valid JSON: fix it or clear the field.'));
      }
    }
    let parsedTools: unknown[] | undefined;
    if (tools.trim()) {
      try {
        parsedTools = JSON.parse(tools) as unknown[];
      } catch {
        return setError(new Error('The tools are not valid JSON: give an array of {"type":"function","function":{...}} or clear the field.'));
      }
      if (!Array.isArray(parsedTools)) return setError(new Error('Tools must be a JSON array of {"type":"function","function":{...}} definitions.'));
    }
    const t = Number(temperature);
    const m = Number(maxTokens);
    if (!(t >= 0 && t <= 2)) return setError(new Error('Temperature must be between 0 and 2.'));
    if (!(Number.isInteger(m) && m > 0)) return setError(new Error('Max tokens must be a positive whole number.'));
    const history: Turn[] = [...turns, { role: 'user', content: prompt.trim() }];
    let reply: Turn = { role: 'assistant', content: '' };
    setTurns([...history, reply]);
    setPrompt('');
    setBusy(true);
    abort.current = new AbortController();
    const update = (patch: Partial<Turn>) => {
      reply = { ...reply, ...patch };
      setTurns([...history, reply]);
    };
    try {
      await streamChat(
        { model: name, namespace, messages: history.map((x) => ({ role: x.role, content: x.content })), temperature: t, maxTokens: m, ...(parsedSchema ? { schema: parsedSchema } : {}), ...(parsedTools ? { tools: parsedTools, toolChoice } : {}) },
        { text: (d) => update({ content: reply.content + d }), tools: (tools) => update({ tools }), finish: (finish) => update({ finish }) },
        abort.current.signal,
      );
    } catch (err) {
      if (!abort.current.signal.aborted) setError(err);
      else update({ finish: 'stopped' });
    } finally {
      setBusy(false);
      abort.current = null;
    }
  };

  return (
    <div class="card chat" data-testid="chat">
      <ol class="turns" aria-live="polite" aria-label="Conversation">
        {turns.map((t, i) => (
          <li key={i} class={`turn ${t.role}`} data-testid={`turn-${t.role}`}>
            <strong>{t.role === 'user' ? 'You' : name}:</strong> <span class="turn-text">{t.content}</span>
            {t.tools?.length ? (
              <ul class="tool-calls" data-testid="tool-calls">
                {t.tools.map((c) => <li key={c.id || c.name}>tool call <code>{c.name}</code>(<code>{c.arguments}</code>)</li>)}
              </ul>
            ) : null}
            {t.finish ? <small class="muted" data-testid="finish"> [{t.finish}]</small> : null}
          </li>
        ))}
      </ol>
      <form onSubmit={send}>
        <label for="prompt">Message</label>
        <textarea id="prompt" rows={3} value={prompt} onInput={(e) => setPrompt(e.currentTarget.value)} data-testid="prompt" />
        <div class="form-grid">
          <div class="field"><label for="temperature">Temperature</label><input id="temperature" type="number" step="0.1" min="0" max="2" value={temperature} onInput={(e) => setTemperature(e.currentTarget.value)} /></div>
          <div class="field"><label for="max-tokens">Max tokens</label><input id="max-tokens" type="number" min="1" value={maxTokens} onInput={(e) => setMaxTokens(e.currentTarget.value)} data-testid="max-tokens" /></div>
        </div>
        <label for="schema">JSON schema for the answer (optional)</label>
        <textarea id="schema" rows={3} spellcheck={false} value={schema} onInput={(e) => setSchema(e.currentTarget.value)} placeholder='{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}' />
        <label for="tools">Tools (optional): OpenAI function definitions, a JSON array</label>
        <textarea id="tools" rows={3} spellcheck={false} value={tools} onInput={(e) => setTools(e.currentTarget.value)} data-testid="tools" placeholder='[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]' />
        <div class="field">
          <label for="tool-choice">Tool choice</label>
          <select id="tool-choice" value={toolChoice} onChange={(e) => setToolChoice(e.currentTarget.value as 'auto' | 'required')} data-testid="tool-choice">
            <option value="auto">auto: the model decides</option>
            <option value="required">required: the model must call a tool</option>
          </select>
        </div>
        <div class="actions">
          <button type="submit" class="primary" disabled={busy} data-testid="send">{busy ? 'Streaming…' : 'Send'}</button>
          {busy ? <button type="button" onClick={() => abort.current?.abort()}>Stop</button> : null}
          <button type="button" onClick={() => setTurns([])} disabled={busy}>Clear</button>
        </div>
      </form>
      <ErrorBox error={error} title="Chat failed" />
    </div>
  );
}
