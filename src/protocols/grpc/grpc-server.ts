import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ERROR_TABLE, publicMessage, toInferdError } from '../../api/errors.js';
import type { Logger } from '../../observability/logger.js';
import type { ModelRouter } from '../../serving/model-router.js';
import type { RoutingHints } from '../../serving/traffic.js';
import { SERVER_NAME, SERVER_VERSION } from '../../version.js';
import type { Limits } from '../v2/rest-codec.js';
import { allowedOf } from '../../security/principal.js';
import { secureGrpc } from '../../security/grpc-security.js';
import type { Security } from '../../security/security.js';
import type { Observability } from '../../observability/observability.js';
import { observeGrpc } from '../../observability/grpc-observability.js';
import { markEndpoint, markError } from '../../observability/request-info.js';
import { decodeGrpcRequest, encodeGrpcResponse, specToGrpc, type GrpcInferRequest } from './grpc-codec.js';

export const PROTO_PATH = fileURLToPath(new URL('../../../../proto/grpc_predict_v2.proto', import.meta.url));

export const PROTO_OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

type Handler<Req> = (call: grpc.ServerUnaryCall<Req, unknown>) => Promise<unknown> | unknown;

export interface GrpcServerOptions {
  router: ModelRouter;
  log: Logger;
  limits: Limits & { maxBodyBytes: number };
  security?: Security;
  observability?: Observability;
}

/** KServe's `inference.GRPCInferenceService` over the same router as the REST routes. */
export function createGrpcServer(opts: GrpcServerOptions): grpc.Server {
  const def = protoLoader.loadSync(PROTO_PATH, PROTO_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
  const server = new grpc.Server({
    'grpc.max_receive_message_length': opts.limits.maxBodyBytes,
    'grpc.max_send_message_length': -1,
  });
  const { router } = opts;
  const unary = <Req>(fn: Handler<Req>) => (call: grpc.ServerUnaryCall<Req, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    Promise.resolve()
      .then(() => fn(call))
      .then(
        (res) => callback(null, res),
        (raw) => {
          const err = toInferdError(raw);
          markError(call, err);
          if (err.code === 'internal') opts.log.error({ err: raw }, 'internal error in gRPC call');
          callback({ code: ERROR_TABLE[err.code].grpc, details: publicMessage(err) });
        },
      );
  };
  const meta = (call: grpc.ServerUnaryCall<unknown, unknown>, name: string) => {
    const v = call.metadata.get(name)[0];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const namespaceOf = (call: grpc.ServerUnaryCall<unknown, unknown>) => meta(call, 'inferd-namespace');
  const hints = (call: grpc.ServerUnaryCall<unknown, unknown>, version: string): RoutingHints => {
    const h: RoutingHints = {};
    if (version) h.version = version;
    const tag = meta(call, 'inferd-revision');
    if (tag) h.tag = tag;
    const sticky = meta(call, 'inferd-sticky');
    if (sticky) h.sticky = sticky;
    return h;
  };
  type ModelRef = { name: string; version: string };
  const resolve = (call: grpc.ServerUnaryCall<ModelRef, unknown>) => router.resolve(call.request.name, namespaceOf(call), hints(call, call.request.version), allowedOf(call));

  const handlers = {
    ServerLive: unary(() => ({ live: true })),
    ServerReady: unary(() => ({ ready: router.serverReady() })),
    ModelReady: unary<ModelRef>((call) => ({ ready: resolve(call).available })),
    ServerMetadata: unary(() => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: [] })),
    ModelMetadata: unary<ModelRef>(async (call) => {
      const ep = resolve(call);
      await ep.describe(); // a lazy model that never loaded: load it to know its tensors
      const m = ep.metadata();
      return { name: m.name, versions: m.versions, platform: m.platform, inputs: m.inputs.map(specToGrpc), outputs: m.outputs.map(specToGrpc) };
    }),
    ModelInfer: unary<GrpcInferRequest>(async (call) => {
      const msg = call.request;
      const ep = router.resolve(msg.model_name, namespaceOf(call), hints(call, msg.model_version), allowedOf(call));
      markEndpoint(call, ep);
      const req = decodeGrpcRequest(msg, opts.limits);
      // gRPC carries its own deadline; honour it like the REST header.
      const deadline = call.getDeadline();
      if (deadline instanceof Date) req.deadline = deadline.getTime();
      else if (typeof deadline === 'number' && Number.isFinite(deadline)) req.deadline = deadline;
      const res = await ep.infer(req);
      return encodeGrpcResponse(res, (msg.raw_input_contents ?? []).length > 0);
    }),
  };
  const served = opts.security ? secureGrpc(handlers, opts.security, router) : handlers;
  server.addService(pkg.inference.GRPCInferenceService.service, opts.observability ? observeGrpc(served, opts.observability) : served);
  return server;
}

export function bindGrpc(server: grpc.Server, host: string, port: number, creds: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure()): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, creds, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}
