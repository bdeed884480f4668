import { useState } from 'preact/hooks';

/** Copies text with the Clipboard API; says so, or says how to copy by hand when it is unavailable. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState<'' | 'ok' | 'fail'>('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone('ok');
    } catch {
      setDone('fail');
    }
    setTimeout(() => setDone(''), 2500);
  };
  return (
    <span class="copy">
      <button type="button" onClick={copy}>{label}</button>
      <span role="status" class="muted">{done === 'ok' ? ' Copied.' : done === 'fail' ? ' Copy blocked: select the text and press Ctrl+C.' : ''}</span>
    </span>
  );
}
