import { formatTime } from '../../lib/format';
import type { KEvent } from '../../lib/types';

export function Events({ events }: { events: KEvent[] }) {
  if (!events.length) return <p class="muted">No events.</p>;
  // Newest first: what just happened is what a user looks for.
  const rows = [...events].reverse().slice(0, 50);
  return (
    <ol class="events" data-testid="events">
      {rows.map((e, i) => (
        <li key={`${e.time}-${i}`} class={e.type === 'Warning' ? 'warn' : ''}>
          <time dateTime={e.time}>{formatTime(e.time)}</time> <strong>{e.reason}</strong> {e.type === 'Warning' ? <span class="tag">Warning</span> : null} {e.message}
        </li>
      ))}
    </ol>
  );
}
