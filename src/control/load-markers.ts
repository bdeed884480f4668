/**
 * "Loading" markers: one file per revision under `<dataDir>/loading/`, written before a load
 * starts and removed when it settles (or the server closes gracefully). A marker found at
 * start that this process did not write means the previous process died while loading that
 * revision: it is marked failed instead of being loaded again, so one model file cannot
 * crash the server on every restart.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class LoadMarkers {
  private readonly mine = new Set<string>();
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'loading');
  }

  /** The marker's file, for logs (tests simulate a crash by leaving it in place). */
  path(id: string): string {
    return join(this.dir, createHash('sha256').update(id).digest('hex').slice(0, 40));
  }

  /** A marker another (dead) process left behind for this revision. */
  leftBehind(id: string): boolean {
    const p = this.path(id);
    return !this.mine.has(p) && existsSync(p);
  }

  set(id: string): void {
    const p = this.path(id);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileSync(p, `${id}\n`, { mode: 0o600 });
    this.mine.add(p);
  }

  clear(id: string): void {
    const p = this.path(id);
    this.mine.delete(p);
    rmSync(p, { force: true });
  }

  /** Graceful shutdown: loads cut short by a clean stop are not crashes. */
  clearMine(): void {
    for (const p of this.mine) rmSync(p, { force: true });
    this.mine.clear();
  }
}
