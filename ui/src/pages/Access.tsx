import { AuditLog } from '../components/AuditLog';
import { KeyManager } from '../components/KeyManager';

/** Admin: API keys and the audit log. */
export function Access() {
  return (
    <section aria-labelledby="access-title">
      <h1 id="access-title">Access</h1>
      <KeyManager />
      <AuditLog />
    </section>
  );
}
