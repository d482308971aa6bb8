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
    super(ErrorCode.CONFIG, message, options);
  }
}

/** A ConfigError about the command line's syntax (unknown flag, missing value): the CLI adds "Try --help". */
export class UsageError extends ConfigError {}

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

/** Stable codes of errors that are not answers to a request. */
export const ErrorCode = {
  CONFIG: 'WSTCP_CONFIG',
  LISTEN: 'WSTCP_LISTEN',
  /** A TLS handshake on the listener failed (no HTTP answer is possible). */
  TLS_HANDSHAKE: 'WSTCP_TLS_HANDSHAKE',
  /** --proxy-protocol: the connection did not start with a valid PROXY header in time. */
  PROXY_PROTOCOL: 'WSTCP_PROXY_PROTOCOL',
  /** --proxy-protocol: the peer is not a --trusted-proxy. */
  UNTRUSTED_PROXY: 'WSTCP_UNTRUSTED_PROXY',
} as const;

interface RefusalEntry {
  readonly code: string;
  readonly status: number;
  /** The answer's text when it is always the same (never the request's own words, which are not echoed). */
  readonly reason?: string;
}

/**
 * Stable codes of refused requests, WebSocket handshakes and plain HTTP alike, with the HTTP status each
 * one answers. Every refusal is answered by one function (front/refusal.ts).
 */
export const Refusal = {
  // The front door: a plain request on the WebSocket endpoint (no --web/--novnc).
  NOT_WEBSOCKET: {
    code: 'WSTCP_NOT_WEBSOCKET',
    status: 426,
    reason: 'This is a WebSocket endpoint (wstcp): connect with a WebSocket client such as noVNC.',
  },
  METHOD_NOT_ALLOWED: { code: 'WSTCP_METHOD_NOT_ALLOWED', status: 405 },
  // Handshakes.
  BAD_HANDSHAKE: { code: 'WSTCP_BAD_HANDSHAKE', status: 400 },
  TOKEN_MISSING: { code: 'WSTCP_TOKEN_MISSING', status: 401 },
  TOKEN_UNKNOWN: { code: 'WSTCP_TOKEN_UNKNOWN', status: 404 },
  TOKEN_EXPIRED: { code: 'WSTCP_TOKEN_EXPIRED', status: 401 },
  STORE_UNAVAILABLE: { code: 'WSTCP_STORE_UNAVAILABLE', status: 503 },
  TARGET_NOT_ALLOWED: { code: 'WSTCP_TARGET_NOT_ALLOWED', status: 403 },
  // --target-from-url: the URL names no target, or one not spelled plainly.
  BAD_TARGET: { code: 'WSTCP_BAD_TARGET', status: 400 },
  TARGET_UNREACHABLE: { code: 'WSTCP_TARGET_UNREACHABLE', status: 502 },
  TARGET_TIMEOUT: { code: 'WSTCP_TARGET_TIMEOUT', status: 504 },
  UNAUTHORIZED: { code: 'WSTCP_UNAUTHORIZED', status: 401 },
  FORBIDDEN: { code: 'WSTCP_FORBIDDEN', status: 403 },
  TOO_MANY_CONNECTIONS: { code: 'WSTCP_TOO_MANY_CONNECTIONS', status: 503 },
  TOO_MANY_FROM_ADDRESS: { code: 'WSTCP_TOO_MANY_FROM_ADDRESS', status: 429 },
  TOO_MANY_FOR_TOKEN: { code: 'WSTCP_TOO_MANY_FOR_TOKEN', status: 429 },
  HEADERS_TOO_LARGE: { code: 'WSTCP_HEADERS_TOO_LARGE', status: 431 },
  HANDSHAKE_TIMEOUT: { code: 'WSTCP_HANDSHAKE_TIMEOUT', status: 408 },
  SHUTTING_DOWN: { code: 'WSTCP_SHUTTING_DOWN', status: 503 },
  INTERNAL: { code: 'WSTCP_INTERNAL', status: 500 },
  // Channels (channels/): publishers and subscribers.
  CHANNEL_BAD_ID: { code: 'WSTCP_CHANNEL_BAD_ID', status: 403 },
  CHANNEL_TOO_MANY_IDS: { code: 'WSTCP_CHANNEL_TOO_MANY_IDS', status: 403 },
  CHANNEL_LIMIT: { code: 'WSTCP_CHANNEL_LIMIT', status: 503 },
  CHANNEL_MESSAGE_TOO_LARGE: { code: 'WSTCP_CHANNEL_MESSAGE_TOO_LARGE', status: 413 },
  PUBLISH_FORBIDDEN: { code: 'WSTCP_PUBLISH_FORBIDDEN', status: 403 },
  NO_TARGET: {
    code: 'WSTCP_NO_TARGET',
    status: 404,
    reason: 'No WebSocket bridge here: this wstcp serves channels only.',
  },
  // Static files and the viewer (web/): fixed phrases, so nothing a client sends is reflected back.
  WEB_BAD_PATH: { code: 'WSTCP_WEB_BAD_PATH', status: 400, reason: 'Bad request: the path is not valid.' },
  WEB_NOT_FOUND: { code: 'WSTCP_WEB_NOT_FOUND', status: 404, reason: 'Not found.' },
  WEB_METHOD_NOT_ALLOWED: {
    code: 'WSTCP_WEB_METHOD_NOT_ALLOWED',
    status: 405,
    reason: 'Method not allowed: only GET and HEAD are served here.',
  },
  WEB_READ_FAILED: { code: 'WSTCP_WEB_READ_FAILED', status: 500, reason: 'The file could not be read.' },
  // Command targets (targets/command/): a --dir miss, a program that cannot start, --max-forks.
  COMMAND_NOT_FOUND: { code: 'WSTCP_COMMAND_NOT_FOUND', status: 404 },
  COMMAND_FAILED: { code: 'WSTCP_COMMAND_FAILED', status: 500 },
  TOO_MANY_PROGRAMS: { code: 'WSTCP_TOO_MANY_PROGRAMS', status: 429 },
} as const satisfies Record<string, RefusalEntry>;

export type RefusalKind = keyof typeof Refusal;

/**
 * Why the bridge closed a client's WebSocket connection: a stable code for the log, with the close code
 * the client receives (as `ws`'s WS_ERR_* codes).
 */
export const FrameViolation = {
  RESERVED_BITS: { code: 'WSTCP_FRAME_RESERVED_BITS', close: 1002 },
  UNMASKED: { code: 'WSTCP_FRAME_UNMASKED', close: 1002 },
  BAD_LENGTH: { code: 'WSTCP_FRAME_BAD_LENGTH', close: 1002 },
  BAD_OPCODE: { code: 'WSTCP_FRAME_BAD_OPCODE', close: 1002 },
  FRAGMENTED_CONTROL: { code: 'WSTCP_FRAME_FRAGMENTED_CONTROL', close: 1002 },
  CONTROL_TOO_LONG: { code: 'WSTCP_FRAME_CONTROL_TOO_LONG', close: 1002 },
  UNEXPECTED_CONTINUATION: { code: 'WSTCP_FRAME_UNEXPECTED_CONTINUATION', close: 1002 },
  UNFINISHED_MESSAGE: { code: 'WSTCP_FRAME_UNFINISHED_MESSAGE', close: 1002 },
  BAD_CLOSE: { code: 'WSTCP_FRAME_BAD_CLOSE', close: 1002 },
  INVALID_UTF8: { code: 'WSTCP_FRAME_INVALID_UTF8', close: 1007 },
  TOO_LARGE: { code: 'WSTCP_FRAME_TOO_LARGE', close: 1009 },
} as const;

export type FrameViolationKind = keyof typeof FrameViolation;

/** Builds the HttpError for one of the catalogued refusals (`reason` defaults to the fixed phrase). */
export function refuse(
  kind: RefusalKind,
  reason?: string,
  options?: { cause?: unknown; headers?: Record<string, string> },
): HttpError {
  const entry: RefusalEntry = Refusal[kind];
  return new HttpError(entry.code, entry.status, reason ?? entry.reason ?? kind, options);
}

/** Short, single-line description of any thrown value, for log lines. */
/** Why a file could not be used, in words, for lines that already name the file and its flag. */
export function describeFileError(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no such file or directory (ENOENT)';
  if (code === 'EACCES') return "permission denied: wstcp's user cannot read it (EACCES)";
  if (code === 'ENOTDIR') return 'a part of the path is not a directory (ENOTDIR)';
  return describeError(err);
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
