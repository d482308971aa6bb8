/**
 * The catalogue of errors wstcp raises. Every error a user or a peer can cause has a stable `code`
 * (tests and log readers match on it, never on wording) and a message that reads as a sentence.
 */

/** Base class: a stable code and an optional cause. */
export class WstcpError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A bad flag, option value or configuration file. The CLI prints `message` on one line and exits 2. */
export class ConfigError extends WstcpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WSTCP_CONFIG', message, options);
  }
}

/**
 * A handshake refused with an HTTP status. Thrown by gates (auth, limits), target resolvers (tokens)
 * and the target connector; the server answers it with `status`, `reason` as the body and `headers`.
 * `reason` is shown to the client, so it must never contain a secret.
 */
export class HttpError extends WstcpError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    code: string,
    status: number,
    reason: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(code, reason, options);
    this.status = status;
    this.headers = options?.headers ?? {};
  }
}

/** Stable codes of refused handshakes, with the HTTP status each one answers. */
export const Refusal = {
  NOT_WEBSOCKET: { code: 'WSTCP_NOT_WEBSOCKET', status: 426 },
  METHOD_NOT_ALLOWED: { code: 'WSTCP_METHOD_NOT_ALLOWED', status: 405 },
  BAD_HANDSHAKE: { code: 'WSTCP_BAD_HANDSHAKE', status: 400 },
  TOKEN_MISSING: { code: 'WSTCP_TOKEN_MISSING', status: 401 },
  TOKEN_UNKNOWN: { code: 'WSTCP_TOKEN_UNKNOWN', status: 404 },
  TOKEN_EXPIRED: { code: 'WSTCP_TOKEN_EXPIRED', status: 401 },
  STORE_UNAVAILABLE: { code: 'WSTCP_STORE_UNAVAILABLE', status: 503 },
  TARGET_NOT_ALLOWED: { code: 'WSTCP_TARGET_NOT_ALLOWED', status: 403 },
  TARGET_UNREACHABLE: { code: 'WSTCP_TARGET_UNREACHABLE', status: 502 },
  TARGET_TIMEOUT: { code: 'WSTCP_TARGET_TIMEOUT', status: 504 },
  UNAUTHORIZED: { code: 'WSTCP_UNAUTHORIZED', status: 401 },
  FORBIDDEN: { code: 'WSTCP_FORBIDDEN', status: 403 },
  TOO_MANY_CONNECTIONS: { code: 'WSTCP_TOO_MANY_CONNECTIONS', status: 503 },
  TOO_MANY_FROM_ADDRESS: { code: 'WSTCP_TOO_MANY_FROM_ADDRESS', status: 429 },
  HEADERS_TOO_LARGE: { code: 'WSTCP_HEADERS_TOO_LARGE', status: 431 },
  HANDSHAKE_TIMEOUT: { code: 'WSTCP_HANDSHAKE_TIMEOUT', status: 408 },
  SHUTTING_DOWN: { code: 'WSTCP_SHUTTING_DOWN', status: 503 },
  COMMAND_NOT_FOUND: { code: 'WSTCP_COMMAND_NOT_FOUND', status: 404 },
  COMMAND_FAILED: { code: 'WSTCP_COMMAND_FAILED', status: 500 },
  TOO_MANY_PROGRAMS: { code: 'WSTCP_TOO_MANY_PROGRAMS', status: 429 },
} as const;

export type RefusalKind = keyof typeof Refusal;

/** Builds the HttpError for one of the catalogued refusals. */
export function refuse(
  kind: RefusalKind,
  reason: string,
  options?: { cause?: unknown; headers?: Record<string, string> },
): HttpError {
  const { code, status } = Refusal[kind];
  return new HttpError(code, status, reason, options);
}

/** Short, single-line description of any thrown value, for log lines. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
