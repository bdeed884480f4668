import { Component } from 'preact';
import type { ModelSummary } from '../lib/isvc';
import { formatBytes, formatLatency, formatNumber } from '../lib/format';
import { href } from '../lib/router';
import { StateBadge } from './StateBadge';

export interface RowProps {
  m: ModelSummary;
  rps: number | null;
  p95: number | null;
  memory: number | null;
  replicas: string;
  canInfer: boolean;
  canDeploy: boolean;
}

/**
 * One model row. A class with shouldComponentUpdate so that, with hundreds of
 * rows and a new `top` event every second, only rows whose numbers changed re-render.
 */
export class ModelRow extends Component<RowProps> {
  override shouldComponentUpdate(next: RowProps): boolean {
    const a = this.props;
    if (a.rps !== next.rps || a.p95 !== next.p95 || a.memory !== next.memory || a.replicas !== next.replicas || a.canInfer !== next.canInfer || a.canDeploy !== next.canDeploy) return true;
    const m = a.m;
    const n = next.m;
    return m.state !== n.state || m.reason !== n.reason || m.runtime !== n.runtime || m.format !== n.format || m.url !== n.url || m.canary !== n.canary;
  }

  override render({ m, rps, p95, memory, replicas, canInfer, canDeploy }: RowProps) {
    return (
      <tr data-testid="model-row" data-model={m.name} data-namespace={m.namespace} data-state={m.state}>
        <th scope="row">
          <a href={href('models', m.namespace, m.name)}>{m.name}</a>
        </th>
        <td>{m.namespace}</td>
        <td>
          <StateBadge state={m.state} reason={m.reason} />
          {m.reason ? <div class="reason" data-testid="state-reason">{m.reason}</div> : null}
        </td>
        <td>{m.runtime}</td>
        <td>{m.format}</td>
        <td class="url">{m.url ? <code>{m.url}</code> : '—'}</td>
        <td class="num">{replicas}</td>
        <td class="num">{formatBytes(memory)}</td>
        <td class="num" data-testid="rps">{formatNumber(rps)}</td>
        <td class="num">{formatLatency(p95)}</td>
        <td class="row-actions">
          {canInfer ? <a href={href('try', m.namespace, m.name)}>Try</a> : null}
          {canDeploy ? <a href={href('rollout', m.namespace, m.name)}>Rollout</a> : null}
        </td>
      </tr>
    );
  }
}
