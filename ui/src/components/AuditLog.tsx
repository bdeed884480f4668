import { INFERD, getJson } from '../lib/api';
import { formatTime } from '../lib/format';
import type { AuditEntry, AuditVerify } from '../lib/types';
import { useFetch } from '../lib/use-fetch';
import { ErrorBox } from './ErrorBox';

/** The latest audit entries and whether the hash chain verifies. */
export function AuditLog() {
  const entries = useFetch(() => getJson<{ items: AuditEntry[] }>(`${INFERD}/audit?limit=100`), []);
  const verify = useFetch(() => getJson<AuditVerify>(`${INFERD}/audit/verify`), []);
  const v = verify.data;
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      <div class="actions">
        <button type="button" onClick={() => { entries.reload(); verify.reload(); }}>Refresh</button>
      </div>
      <ErrorBox error={verify.error} title="Could not verify the audit log" />
      {v ? (
        <p class={v.ok ? 'ok' : 'error'} role="status" data-testid="audit-verify">
          {v.ok ? `✓ Chain verified: ${v.entries} entries in ${v.files.length} file(s).` : `✕ Verification failed at ${v.error ?? 'an unknown line'}: the log was edited, reordered or truncated. Keep a copy and investigate.`}
        </p>
      ) : null}
      <ErrorBox error={entries.error} title="Could not load the audit log" />
      <div class="table-wrap" tabIndex={0} role="region" aria-label="Audit log table">
        <table data-testid="audit">
          <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Principal</th><th scope="col">Action</th><th scope="col">Resource</th><th scope="col">Outcome</th></tr></thead>
          <tbody>
            {[...(entries.data?.items ?? [])].sort((a, b) => b.seq - a.seq).map((e) => (
              <tr key={e.seq}><td>{e.seq}</td><td>{formatTime(e.time)}</td><td>{e.principal}</td><td>{e.action}</td><td>{e.resource}</td><td>{e.outcome}</td></tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
