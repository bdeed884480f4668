import type { Command } from 'commander';
import { join } from 'node:path';
import { loadConfigFile } from '../config/config.js';
import { verifyAudit } from '../security/audit.js';

/** `inferd audit verify`: walks the hash chain of the audit log (and its rotated files). */
export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the audit log');
  audit
    .command('verify')
    .description('check that no audit log line was edited, removed or reordered')
    .option('--file <path>', 'the audit log (default <data-dir>/audit.log)')
    .option('--data-dir <dir>', 'state directory (or INFERD_DATA_DIR; default .inferd)')
    .option('--config <file>', "inferd's settings, for security.audit.path and dataDir")
    .action(async (opts: { file?: string; dataDir?: string; config?: string }) => {
      let file = opts.file;
      if (!file && opts.config) {
        const config = await loadConfigFile(opts.config);
        file = config.security.audit.path ?? join(opts.dataDir ?? config.dataDir, 'audit.log');
      }
      file ??= join(opts.dataDir ?? process.env.INFERD_DATA_DIR ?? '.inferd', 'audit.log');
      const result = verifyAudit(file);
      if (!result.ok) {
        console.error(`audit log ${file}: FAILED at ${result.error} (${result.entries} entries verified before it)`);
        process.exitCode = 1;
        return;
      }
      if (result.files.length === 0) {
        console.error(`audit log ${file}: not found`);
        process.exitCode = 1;
        return;
      }
      console.log(`audit log ${file}: OK, ${result.entries} entries in ${result.files.length} file(s), chain intact`);
    });
}
