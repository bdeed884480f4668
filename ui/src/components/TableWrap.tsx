import type { ComponentChildren } from 'preact';

/**
 * A horizontally scrollable box for a wide table, so narrow screens scroll the
 * table, not the page. Focusable and labelled so keyboard users can scroll it.
 */
export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={label}>
      {children}
    </div>
  );
}
