import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InferdError } from '../api/errors.js';
import { auditFiles, readAuditHead } from '../security/audit.js';

/** What the start-up check needs to know about the store it opened. */
export interface StoreFacts {
  /** The database had no tables when opened: a new store. */
  created: boolean;
  /** The store's resourceVersion counter (0 when none was written). */
  version: number;
}

/**
 * Evidence that the store lost writes it had acknowledged: a deleted or torn WAL, an old copy
 * restored, an empty database put in place of the old one. Starting on it as if new would
 * drop every InferenceService and API key without a word, and mint a new admin key over the
 * old one. What counts:
 * - a new store in a data directory that has an `admin.key` or audit entries;
 * - an audit head recording a store version the store has not reached (every control-plane
 *   change's audit entry carries the store version it produced).
 * Empty when the store looks whole.
 */
export function storeHistoryGaps(dataDir: string, store: StoreFacts, auditPath: string | undefined): string[] {
  const gaps: string[] = [];
  const adminKey = join(dataDir, 'admin.key');
  const head = auditPath === undefined ? undefined : readAuditHead(auditPath);
  if (store.created) {
    if (existsSync(adminKey)) gaps.push(`${adminKey} exists`);
    if (auditPath !== undefined) {
      const written = auditFiles(auditPath).filter((f) => statSync(f).size > 0);
      if (written.length > 0 || (head?.seq ?? 0) > 0) gaps.push(`the audit log ${auditPath} has entries`);
    }
  } else if (head?.storeVersion !== undefined && head.storeVersion > store.version) {
    gaps.push(`the audit log ${auditPath} recorded store version ${head.storeVersion}, the store is at ${store.version}`);
  }
  return gaps;
}

/** The refusal: names the files, what was found and the two ways on. */
export function storeLostHistory(dataDir: string, gaps: string[]): InferdError {
  const db = join(dataDir, 'inferd.db');
  return new InferdError(
    'conflict',
    `the store ${db} has lost history it had acknowledged (${gaps.join('; ')}); ` +
      `inferd will not start on it as if new (InferenceServices and API keys would be silently gone and a new admin key minted). ` +
      `Restore ${db} together with its ${db}-wal from a backup, or, to start over on purpose, run once with --allow-store-reset ` +
      `(a store.reset entry is audited and, with API keys on, a new admin key is written to ${join(dataDir, 'admin.key')}).`,
  );
}
