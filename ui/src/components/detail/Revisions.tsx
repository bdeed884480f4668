import { TableWrap } from '../TableWrap';
import { formatTime } from '../../lib/format';
import type { Revision } from '../../lib/types';

export function Revisions({ revisions, latestRolledout }: { revisions: Revision[]; latestRolledout?: string | undefined }) {
  if (!revisions.length) return <p class="muted">No revisions.</p>;
  return (
    <TableWrap label="Revisions">
    <table data-testid="revisions">
      <caption class="sr-only">Revisions</caption>
      <thead><tr><th scope="col">Revision</th><th scope="col">Variant</th><th scope="col">Outcome</th><th scope="col">Created</th><th scope="col">Message</th></tr></thead>
      <tbody>
        {[...revisions].reverse().map((r) => (
          <tr key={r.name}>
            <th scope="row">{r.name}{r.name === latestRolledout ? ' (rolled out)' : ''}</th>
            <td>{r.variant || 'main'}</td>
            <td>{r.outcome}</td>
            <td>{formatTime(r.createdAt)}</td>
            <td>{r.message ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
    </TableWrap>
  );
}
