import { useState } from 'preact/hooks';
import { snippets } from '../../lib/examples';
import type { TensorMeta } from '../../lib/types';
import { CopyButton } from '../CopyButton';

/** Copyable client snippets as tabs (arrow keys move between them, as the ARIA tabs pattern says). */
export function Snippets(props: { namespace: string; name: string; inputs: TensorMeta[]; llm: boolean }) {
  const items = snippets(location.origin, props.namespace, props.name, props.inputs, props.llm);
  const [sel, setSel] = useState(0);
  const cur = items[Math.min(sel, items.length - 1)]!;
  const onKey = (e: KeyboardEvent) => {
    const d = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (!d) return;
    const next = (sel + d + items.length) % items.length;
    setSel(next);
    (document.getElementById(`snippet-tab-${next}`) as HTMLElement | null)?.focus();
  };
  return (
    <div class="snippets" data-testid="snippets">
      <div role="tablist" aria-label="Client snippets" onKeyDown={onKey}>
        {items.map((s, i) => (
          <button key={s.label} id={`snippet-tab-${i}`} type="button" role="tab" aria-selected={i === sel} aria-controls="snippet-panel" tabIndex={i === sel ? 0 : -1} onClick={() => setSel(i)}>{s.label}</button>
        ))}
      </div>
      <div id="snippet-panel" role="tabpanel" aria-labelledby={`snippet-tab-${sel}`}>
        <pre tabIndex={0}><code>{cur.code}</code></pre>
        <CopyButton text={cur.code} label={`Copy ${cur.label}`} />
        <p class="muted">Set <code>INFERD_TOKEN</code> to your key first; the dashboard never puts it in snippets.</p>
      </div>
    </div>
  );
}
