#!/usr/bin/env node
import { Command } from 'commander';
import { InferdError } from '../api/errors.js';
import { SERVER_VERSION } from '../version.js';
import { addClientAuthOptions } from './api-client.js';
import { registerApply } from './apply.js';
import { registerAudit } from './audit.js';
import { registerDescribe } from './describe.js';
import { registerExport } from './export.js';
import { registerGet } from './get.js';
import { registerKeys } from './keys.js';
import { registerLogs } from './logs.js';
import { normalizeKserveFlags } from './model-server.js';
import { registerQuantize } from './quantize.js';
import { registerRollout } from './rollout.js';
import { registerServe } from './serve.js';
import { registerTop } from './top.js';

const program = new Command();
program.name('inferd').description('Model-inference server and control plane for KServe InferenceService YAML').version(SERVER_VERSION);
registerServe(program);
registerGet(program);
registerDescribe(program);
registerApply(program);
registerRollout(program);
registerQuantize(program);
registerKeys(program);
registerAudit(program);
registerLogs(program);
registerTop(program);
registerExport(program);
addClientAuthOptions(program);

program.parseAsync(normalizeKserveFlags(process.argv)).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`error: ${message}`);
  process.exit(InferdError.is(err) && err.code === 'invalid_input' ? 2 : 1);
});
