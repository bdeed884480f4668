import { ApiError, getJson, inferdIsvcPath } from '../../lib/api';
import { formatTime } from '../../lib/format';
import { useFetch } from '../../lib/use-fetch';
import { ErrorBox } from '../ErrorBox';

interface LogItem {
  pid?: number;
  lines: Array<{ time: string; stream: string; text: string }>;
}

/** The last lines of the model's external process (only runtimes that run a command have one). */
export function Logs({ namespace, name }: { namespace: string; name: string }) {
  const logs = useFetch(() => getJson<{ items: LogItem[] }>(`${inferdIsvcPath(namespace, name)}/logs?tail=50`), [namespace, name]);
  if (logs.error instanceof ApiError && logs.error.status === 404) return <p class="muted">No process logs: this model runs inside inferd (its log is inferd's own stderr).</p>;
  return (
    <div>
      <button type="button" onClick={logs.reload} disabled={logs.loading}>{logs.loading ? 'Loading…' : 'Refresh logs'}</button>
      <ErrorBox error={logs.error} title="Could not load logs" />
      {logs.data?.items.map((it, i) => (
        <pre key={i} class="logs" tabIndex={0} aria-label={`process ${it.pid ?? i} log`}>
          {it.lines.map((l) => `${formatTime(l.time)} ${l.stream}: ${l.text}`).join('\n') || '(no output yet)'}
        </pre>
      ))}
    </div>
  );
}
