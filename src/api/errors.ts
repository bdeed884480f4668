/**
 * The one error type of inferd. Every failure a user can see carries a code from
 * this closed list; protocol adapters map it through ERROR_TABLE and nothing else
 * decides statuses.
 */
export const ERROR_CODES = [
  'invalid_input', 'unauthenticated', 'forbidden', 'not_found', 'conflict', 'too_large',
  'overloaded', 'not_ready', 'timeout', 'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** gRPC status codes (numeric, as in @grpc/grpc-js `status`). */
const GRPC = {
  INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8, ABORTED: 10, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16,
} as const;

export interface ErrorMapping {
  http: number;
  grpc: number;
  openai: string;
}

export const ERROR_TABLE: Record<ErrorCode, ErrorMapping> = {
  invalid_input: { http: 400, grpc: GRPC.INVALID_ARGUMENT, openai: 'invalid_request_error' },
  unauthenticated: { http: 401, grpc: GRPC.UNAUTHENTICATED, openai: 'authentication_error' },
  forbidden: { http: 403, grpc: GRPC.PERMISSION_DENIED, openai: 'permission_error' },
  not_found: { http: 404, grpc: GRPC.NOT_FOUND, openai: 'not_found_error' },
  conflict: { http: 409, grpc: GRPC.ABORTED, openai: 'invalid_request_error' },
  too_large: { http: 413, grpc: GRPC.RESOURCE_EXHAUSTED, openai: 'invalid_request_error' },
  overloaded: { http: 429, grpc: GRPC.RESOURCE_EXHAUSTED, openai: 'rate_limit_error' },
  not_ready: { http: 503, grpc: GRPC.UNAVAILABLE, openai: 'server_error' },
  timeout: { http: 504, grpc: GRPC.DEADLINE_EXCEEDED, openai: 'timeout' },
  internal: { http: 500, grpc: GRPC.INTERNAL, openai: 'server_error' },
};

export interface InferdErrorOptions {
  /** Seconds a client should wait before retrying (overloaded, not_ready). */
  retryAfter?: number;
  /** Where in the input the problem is, e.g. `inputs[0].shape`. */
  field?: string;
  cause?: unknown;
}

const MARKER = Symbol.for('inferd.error');

export class InferdError extends Error {
  readonly [MARKER] = true;
  readonly code: ErrorCode;
  readonly retryAfter?: number;
  readonly field?: string;

  constructor(code: ErrorCode, message: string, options: InferdErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'InferdError';
    this.code = code;
    if (options.retryAfter !== undefined) this.retryAfter = options.retryAfter;
    if (options.field !== undefined) this.field = options.field;
  }

  /** Marker check rather than instanceof, so errors cross module copies and realms. */
  static is(value: unknown): value is InferdError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

export const invalidInput = (message: string, field?: string): InferdError =>
  new InferdError('invalid_input', message, field === undefined ? {} : { field });

export const notFound = (message: string): InferdError => new InferdError('not_found', message);

/**
 * Normalizes anything thrown into an InferdError. Unknown errors become `internal`
 * with a generic message: their text may hold paths or data and is only logged.
 */
export function toInferdError(err: unknown): InferdError {
  if (InferdError.is(err)) return err;
  return new InferdError('internal', 'internal error', { cause: err });
}
