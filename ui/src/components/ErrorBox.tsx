import { ApiError } from '../lib/api';

/** Every error says what went wrong (the server's words) and what to do next. */
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div class="error" role="alert" data-testid="error">
      <strong>{title ?? 'Something went wrong'}{e && e.status ? ` (HTTP ${e.status})` : ''}:</strong> <span class="error-message">{message}</span>
      <div class="hint">{e ? e.hint : 'Reload the page and try again.'}</div>
    </div>
  );
}
