import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { LoadContext } from '../../../src/runtimes/types.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist/test/runtimes/lightgbm → the repository's test/fixtures/lightgbm
export const FIXTURES = join(here, '..', '..', '..', '..', 'test', 'fixtures', 'lightgbm');

export function ctx(path: string, args: string[] = []): LoadContext {
  return {
    name: 'm', path, format: { name: 'lightgbm' }, args, env: {},
    threads: { intraOp: 1, interOp: 1 }, log: pino({ level: 'silent' }),
  };
}
