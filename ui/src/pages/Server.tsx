import { TableWrap } from '../components/TableWrap';
import { useEffect } from 'preact/hooks';
import { ErrorBox } from '../components/ErrorBox';
import { INFERD, getJson } from '../lib/api';
import { formatBytes, formatDuration, formatLatency, formatNumber, formatTime } from '../lib/format';
import type { ServerInfo } from '../lib/types';
import { useFetch } from '../lib/use-fetch';

/** Admin: the memory budget and what uses it, load/evict history, process and GPU figures. */
export function Server() {
  const info = useFetch(() => getJson<ServerInfo>(`${INFERD}/server`), []);
  useEffect(() => {
    const t = setInterval(info.reload, 2000);
    return () => clearInterval(t);
  }, []);
  const d = info.data;
  return (
    <section aria-labelledby="server-title" data-testid="server">
      <h1 id="server-title">Server</h1>
      <ErrorBox error={info.error} title="Could not load server figures" />
      {!d ? (info.error ? null : <p role="status">Loading…</p>) : (
        <>
          <h2>Memory</h2>
          <p>
            {formatBytes(d.memory.usedBytes)} used of {d.memory.budgetBytes ? formatBytes(d.memory.budgetBytes) : 'no budget (unlimited)'}
          </p>
          {d.memory.budgetBytes ? <meter min={0} max={d.memory.budgetBytes} value={d.memory.usedBytes} high={d.memory.budgetBytes * 0.9} aria-label="Memory budget used" /> : null}
          <TableWrap label="Memory use by model">
    <table data-testid="server-models">
            <caption>What uses it</caption>
            <thead><tr><th scope="col">Model</th><th scope="col">Revision</th><th scope="col">State</th><th scope="col" class="num">Memory</th><th scope="col">Last used</th></tr></thead>
            <tbody>
              {[...d.models].sort((a, b) => b.memoryBytes - a.memoryBytes).map((m) => (
                <tr key={`${m.namespace}/${m.name}/${m.revision}`}><th scope="row">{m.namespace}/{m.name}</th><td>{m.revision}</td><td>{m.state}</td><td class="num">{formatBytes(m.memoryBytes)}</td><td>{formatTime(m.lastUsed ?? null)}</td></tr>
              ))}
            </tbody>
          </table>
    </TableWrap>
          <h2>Process</h2>
          <dl class="facts" data-testid="process">
            <dt>CPU</dt><dd>{formatNumber(d.process.cpuPercent)}%</dd>
            <dt>Resident memory</dt><dd>{formatBytes(d.process.rssBytes)}</dd>
            <dt>JS heap</dt><dd>{formatBytes(d.process.heapUsedBytes)}</dd>
            <dt>Event-loop lag</dt><dd>{formatLatency(d.process.eventLoopLagSeconds)}</dd>
            <dt>Uptime</dt><dd>{formatDuration(d.process.uptimeSeconds)}</dd>
          </dl>
          <h2>GPU</h2>
          {d.gpu && d.gpu.length ? (
            <TableWrap label="GPUs"><table>
              <thead><tr>{Object.keys(d.gpu[0]!).map((k) => <th key={k} scope="col">{k}</th>)}</tr></thead>
              <tbody>{d.gpu.map((g, i) => <tr key={i}>{Object.values(g).map((v, j) => <td key={j}>{String(v)}</td>)}</tr>)}</tbody>
            </table></TableWrap>
          ) : <p class="muted">No GPU found (nvidia-smi is not available).</p>}
          <h2>Load and evict history</h2>
          {d.history.length ? (
            <ol class="events" data-testid="history">
              {[...d.history].reverse().slice(0, 100).map((h, i) => (
                <li key={i}><time dateTime={h.time}>{formatTime(h.time)}</time> <strong>{h.kind}</strong> {h.namespace}/{h.name} {h.revision}{h.bytes !== undefined ? ` (${formatBytes(h.bytes)})` : ''}{h.reason ? `: ${h.reason}` : ''}</li>
              ))}
            </ol>
          ) : <p class="muted">Nothing loaded or evicted yet.</p>}
        </>
      )}
    </section>
  );
}
