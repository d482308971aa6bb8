/**
 * The extension points of the upgrade pipeline. For every WebSocket handshake the server runs, in order:
 *
 *   gates (auth, origin, limits)  ->  resolver (fixed target or token store)  ->  allow-list  ->
 *   open the target (its kind: targets/registry.ts)  ->  101 Switching Protocols  ->  relay
 *
 * Any step refuses by throwing an HttpError (see errors.ts); the server answers the handshake with its
 * status and reason and logs one line. Nothing is sent to the client before the target is connected.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Target } from '../targets/target.js';

/** What every step may look at for one handshake (built once per request: context.ts). */
export interface HandshakeContext {
  readonly req: IncomingMessage;
  /** The request URL (its path and query; the host part is a placeholder). */
  readonly url: URL;
  /** The client's address and port as seen on the socket. */
  readonly clientAddress: string;
  readonly clientPort: number;
  /** True when the connection arrived over TLS (wss://). */
  readonly secure: boolean;
  readonly socket: Socket | TLSSocket;
}

/**
 * Decides whether a handshake may proceed, before the target is resolved. Throws an HttpError to refuse.
 * May return a release function, which the server calls exactly once when the handshake fails later or
 * the session ends (limits use it to count live connections).
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a checking gate returns nothing, a counting gate a Release.
export type Gate = (ctx: HandshakeContext) => void | Release | Promise<void | Release>;
export type Release = () => void;

/** Decides where a handshake's session goes. Throws an HttpError (401/403/404/503) to refuse. */
export interface TargetResolver {
  resolve(ctx: HandshakeContext): Promise<Target>;
  /** Why targets cannot be resolved now (a token store that is down), for /readyz; undefined when fine. */
  problem?(): Promise<string | undefined> | string | undefined;
  /** Releases connections and watchers; called once when the bridge closes. */
  close(): Promise<void>;
}

/** A check applied to every resolved target (--allow-target). Throws HttpError 403 to refuse. */
export type TargetPolicy = (target: Target, ctx: HandshakeContext) => void;

/** Serves plain HTTP requests (static files, the viewer). Without one the server answers 426/405. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Terminates TLS on a raw accepted socket whose first byte was 0x16 (a TLS ClientHello).
 * The current certificate is taken at wrap time, so a reload affects new connections only.
 */
export interface TlsTerminator {
  /** Refuse plain ws:// connections. */
  readonly sslOnly: boolean;
  wrap(socket: Socket): TLSSocket;
  /** Re-reads the certificate and key (SIGHUP); on failure the current ones stay in use. */
  reload?(): void;
  /** When the certificate now served expires (ms since the epoch), for --metrics. */
  readonly expiresAt?: number | undefined;
  close(): Promise<void>;
}
