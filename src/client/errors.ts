/**
 * How a client command ends: the exit codes `wstcp connect` and `wstcp forward` document, and the errors
 * that carry them. A script (or ssh, as a ProxyCommand) tells a refused handshake from an unreachable
 * server and from a session that broke off, without parsing stderr.
 */
import { WstcpError } from '../errors.js';

export const ExitCode = {
  /** The session ended cleanly: local EOF, or the server closed with 1000. */
  OK: 0,
  /** The session broke off: the server closed with another code, or the connection was lost. */
  SESSION_FAILED: 1,
  /** A bad flag, URL or file. */
  USAGE: 2,
  /** The server could not be reached: name lookup, connection, proxy, TLS or --connect-timeout. */
  UNREACHABLE: 3,
  /** The server answered the handshake with an HTTP status instead of 101 (or with an invalid 101). */
  REFUSED: 4,
  /** --heartbeat: the server stopped answering pings. */
  HEARTBEAT: 5,
  /** `wstcp forward` could not listen on a local address. */
  LISTEN: 6,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Something that ends a client session or keeps it from starting; `exitCode` is what the command exits with. */
export class ClientError extends WstcpError {
  readonly exitCode: ExitCodeValue;
  constructor(code: string, exitCode: ExitCodeValue, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.exitCode = exitCode;
  }
}

/**
 * The server refused the WebSocket handshake. `reason` is the first line of the server's answer (wstcp
 * and websockify put a one-line reason there), stripped of control characters.
 */
export class HandshakeRefusedError extends ClientError {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, statusText: string, reason: string) {
    // Servers often repeat the status line as the body: say it once.
    const repeated = reason === statusText || reason === `${status} ${statusText}`;
    const why = reason && !repeated ? `: ${reason}` : '';
    super(
      'WSTCP_CLIENT_REFUSED',
      ExitCode.REFUSED,
      `the server refused the handshake: HTTP ${status} ${statusText}${why}`.trimEnd(),
    );
    this.status = status;
    this.reason = reason;
  }
}

export const ClientErrorCode = {
  UNREACHABLE: 'WSTCP_CLIENT_UNREACHABLE',
  TIMEOUT: 'WSTCP_CLIENT_TIMEOUT',
  PROXY: 'WSTCP_CLIENT_PROXY',
  TLS: 'WSTCP_CLIENT_TLS',
  BAD_HANDSHAKE: 'WSTCP_CLIENT_BAD_HANDSHAKE',
  HEARTBEAT: 'WSTCP_CLIENT_HEARTBEAT',
  LISTEN: 'WSTCP_CLIENT_LISTEN',
} as const;

/** `text` with control characters (a terminal's escape sequences) turned into spaces, for stderr and logs. */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is replaced
  return text.replace(/[\x00-\x1f\x7f]/g, ' ').trim();
}
