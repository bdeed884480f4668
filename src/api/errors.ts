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

/** Longest client-supplied value (model name, field value, header) an error message quotes. */
export const MAX_QUOTED_CHARS = 64;
/** Longest error message any protocol sends: a gRPC `grpc-message` is a header, and a header must stay small. */
export const MAX_MESSAGE_CHARS = 1024;

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * A client-supplied value as error messages quote it: one line, at most `max` characters,
 * marked `…` when cut, so a name or header of any size costs the answer a few bytes and
 * a payload value is never echoed whole.
 */
export function quote(value: unknown, max = MAX_QUOTED_CHARS): string {
  const text = typeof value === 'string' ? value : (safeJson(value) ?? typeof value);
  const line = text.replace(CONTROL, '?');
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

function safeJson(value: unknown): string | undefined {
  try {
    // Stringify only a bounded prefix's worth: a huge array would otherwise be written whole first.
    return Array.isArray(value) && value.length > MAX_QUOTED_CHARS ? `${JSON.stringify(value.slice(0, MAX_QUOTED_CHARS))}…` : JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/**
 * The message a client receives for an error, on every protocol: control characters go
 * (a header cannot carry them), and the length is capped whatever a message built from
 * input grew to.
 */
export function publicMessage(err: InferdError): string {
  const msg = err.message.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '?');
  return msg.length > MAX_MESSAGE_CHARS ? `${msg.slice(0, MAX_MESSAGE_CHARS)}…` : msg;
}

/**
 * Normalizes anything thrown into an InferdError. Unknown errors become `internal`
 * with a generic message: their text may hold paths or data and is only logged.
 */
export function toInferdError(err: unknown): InferdError {
  if (InferdError.is(err)) return err;
  return new InferdError('internal', 'internal error', { cause: err });
}
