/** Entry point of a replica worker thread: loads one model and runs what the main thread sends. */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { InferdError } from '../../api/errors.js';
import type { LoadedModel, Runtime } from '../../runtimes/types.js';
import { probeLatencyMicros } from './probe-latency.js';
import { serializeError, type FromWorker, type ToWorker, type WorkerInit } from './worker-protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const post = (m: FromWorker) => port.postMessage(m);

async function load(): Promise<LoadedModel> {
  const log = pino({ level: init.logLevel, base: { service: 'inferd', replica: 'worker' } }, pino.destination({ dest: 2, sync: false }));
  const ctx = { ...init.ctx, log };
  if ('module' in init.target) return (await import('../../runtimes/custom/custom-runtime.js')).loadCustomModel(init.target.module, ctx);
  const name = init.target.runtime;
  const runtime = await (LIGHT[name] ?? (async () => (await import('../../runtimes/index.js')).RUNTIMES.find((r) => r.name === name)))();
  if (!runtime) throw new InferdError('internal', `no runtime named ${name}`);
  return runtime.load(ctx);
}

/**
 * Classic models each load in their own worker: importing only their runtime (not onnxruntime
 * and TensorFlow.js with the full registry) keeps that worker's start near 0.15 s, not 1 s.
 */
const LIGHT: Record<string, () => Promise<Runtime>> = {
  'inferd-sklearn': async () => (await import('../../runtimes/sklearn/sklearn-runtime.js')).sklearnRuntime,
  'inferd-xgboost': async () => (await import('../../runtimes/xgboost/xgboost-runtime.js')).xgboostRuntime,
  'inferd-lightgbm': async () => (await import('../../runtimes/lightgbm/lightgbm-runtime.js')).lightgbmRuntime,
};

try {
  const model = await load();
  const probeMicros = init.probeBelowMicros === undefined ? undefined : await probeLatencyMicros(model, init.probeBelowMicros, init.probeSlow === true);
  post({
    type: 'ready',
    platform: model.platform,
    inputs: model.inputs,
    outputs: model.outputs,
    memoryBytes: model.memoryBytes(),
    hasV1: typeof model.predictV1 === 'function',
    ...(model.signatures && model.inferSignature ? { signatures: { ...model.signatures } } : {}),
    ...(model.modelVersion !== undefined ? { modelVersion: model.modelVersion } : {}),
    ...(probeMicros !== undefined ? { probeMicros } : {}),
  });
  port.on('message', (m: ToWorker) => {
    if (m.type === 'unload') {
      void model.unload().finally(() => post({ type: 'unloaded' }));
      return;
    }
    const work =
      m.type === 'infer'
        ? model.infer(m.inputs, m.outputNames).then((outputs) => ({ outputs }))
        : m.type === 'signature'
          ? model.inferSignature!(m.signature, m.inputs, m.outputNames).then((outputs) => ({ outputs }))
          : model.predictV1!(m.body).then((body) => ({ body }));
    work.then(
      (r) => post({ type: 'result', id: m.id, ...r }),
      (err: unknown) => post({ type: 'error', id: m.id, error: serializeError(err) }),
    );
  });
} catch (err) {
  post({ type: 'load-error', error: serializeError(err) });
}
