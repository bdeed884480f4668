import { TableWrap } from '../TableWrap';
import { formatTime } from '../../lib/format';
import type { Condition } from '../../lib/types';

export function Conditions({ conditions }: { conditions: Condition[] }) {
  if (!conditions.length) return <p class="muted">No conditions reported yet.</p>;
  return (
    <TableWrap label="Status conditions">
    <table data-testid="conditions">
      <caption class="sr-only">Status conditions</caption>
      <thead><tr><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Reason</th><th scope="col">Message</th><th scope="col">Since</th></tr></thead>
      <tbody>
        {conditions.map((c) => (
          <tr key={c.type} data-condition={c.type} data-status={c.status}>
            <th scope="row">{c.type}</th>
            <td class={`cond-${c.status}`}>{c.status}</td>
            <td>{c.reason ?? ''}</td>
            <td>{c.message ?? ''}</td>
            <td>{formatTime(c.lastTransitionTime)}</td>
          </tr>
        ))}
      </tbody>
    </table>
    </TableWrap>
  );
}
