import type { ModelState } from '../lib/isvc';

/** The state as a word plus a shape, so it does not rely on color alone. */
export function StateBadge({ state, reason }: { state: ModelState; reason?: string }) {
  const mark = state === 'Ready' ? '●' : state === 'FailedToLoad' ? '✕' : '◌';
  return (
    <span class={`badge badge-${state}`} data-testid="state" title={reason || undefined}>
      <span aria-hidden="true">{mark} </span>
      {state}
    </span>
  );
}
