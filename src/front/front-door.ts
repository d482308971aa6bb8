/**
 * The HTTP side of every connection: the Listener hands each accepted connection (plain or TLS) to one
 * HTTP server, which parses the request and routes it. Plain requests go to the first route that takes
 * their path (routes.ts), then to the web handler, or get 426/405; WebSocket upgrades go to a route that
 * takes them or to the bridge's sessions. Requests HTTP cannot parse are refused here (clientError).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { peerOf } from '../address.js';
import type { HttpHandler, TlsTerminator } from '../admission/pipeline.js';
import { parseRequestUrl } from '../admission/request-url.js';
import type { TrustedProxies } from '../admission/trusted-proxies.js';
import type { ListenSpec } from '../config/config.js';
import { ErrorCode, type HttpError, Refusal, refuse } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { Listener } from './listener.js';
import { answerRefusal } from './refusal.js';
import type { Route } from './routes.js';

export interface FrontDoorOptions {
  readonly maxHeaderBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly tls: TlsTerminator | undefined;
  readonly log: Logger;
  readonly routes: readonly Route[];
  /** Plain requests no route took (static files, the viewer); without it they get 426/405. */
  readonly web: HttpHandler | undefined;
  /** Upgrade requests no route took: the bridge admits them as sessions. */
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /**
   * A connection refused before reaching a route (handshake timeout, TLS failure, malformed request,
   * PROXY protocol), with its stable code.
   */
  readonly refused: (code: string) => void;
  /** --proxy-protocol: the proxies allowed to send the header (and required to). */
  readonly proxyProtocol?: TrustedProxies | undefined;
  /** A TLS handshake on the listener ended (--metrics). */
  readonly tlsHandshake?: (ok: boolean) => void;
}

export class FrontDoor {
  private readonly listener: Listener;
  private readonly http: ReturnType<typeof createServer>;

  constructor(private readonly options: FrontDoorOptions) {
    const http = createServer({ maxHeaderSize: options.maxHeaderBytes, keepAliveTimeout: 5000 });
    http.headersTimeout = options.handshakeTimeoutMs;
    // This server never listens itself (the Listener hands it connections), and Node sets up its
    // connection tracking on 'listening': without it closeIdleConnections() does nothing, and close() waits
    // for idle keep-alive connections to time out.
    http.emit('listening');
    http.on('request', (req, res) => this.onRequest(req, res));
    http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    http.on('connect', (req, socket) => this.onConnect(req, socket));
    http.on('clientError', (err, socket) => this.onClientError(err as NodeJS.ErrnoException, socket));
    this.http = http;
    this.listener = new Listener({
      tls: options.tls,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
      log: options.log,
      onConnection: (socket) => http.emit('connection', socket),
      onHandshakeTimeout: () => options.refused(Refusal.HANDSHAKE_TIMEOUT.code),
      onBadRequestLine: () => options.refused(Refusal.BAD_HANDSHAKE.code),
      proxyProtocol: options.proxyProtocol,
      onProxyRefused: options.refused,
      onTlsHandshake: options.tlsHandshake,
    });
  }

  /** The bound TCP port (0 for a unix socket listener). */
  get port(): number {
    return this.listener.port;
  }

  /** `host:port` or the unix socket path, for log lines. */
  get address(): string {
    return this.listener.address;
  }

  listen(address: ListenSpec, unixMode: number): Promise<void> {
    return this.listener.listen(address, unixMode);
  }

  /** Stops accepting connections; those already accepted carry on. */
  stopAccepting(): void {
    void this.listener.stop();
  }

  /**
   * Stops accepting, drops connections without a complete request and idle keep-alive ones. Resolves when
   * the listening socket is closed, which is once every connection it accepted is gone (see closeAll).
   */
  close(): Promise<void> {
    const stopped = this.listener.close();
    this.http.close();
    return stopped;
  }

  /**
   * Answers a refused connection and ends it; the listener keeps it until the client closes or a short
   * linger is over (listener.ts), so a client that never closes cannot hold it.
   */
  refuse(socket: Duplex, err: HttpError): void {
    this.listener.refuse(socket, err);
  }

  /** Drops every connection still open (after sessions have ended). */
  closeAll(): void {
    this.http.closeAllConnections();
  }

  /** The route that takes `req`, with the path it matched. */
  private route(req: IncomingMessage): { route: Route; path: string } | undefined {
    const routes = this.options.routes;
    if (routes.length === 0) return undefined;
    // The path as routing and log lines read it (request-url.ts), never the raw target: the route gets
    // this same path, so that it serves what it matched (`/x/../healthz` is /healthz for both).
    const path = parseRequestUrl(req.url)?.pathname;
    if (path === undefined) return undefined;
    const route = routes.find((candidate) => candidate.matches(path));
    return route && { route, path };
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.listener.settle(req.socket);
    const routed = this.route(req);
    if (routed?.route.request) routed.route.request(req, res, routed.path);
    else if (this.options.web) this.options.web(req, res);
    else this.refuseRequest(req, res);
  }

  /** No endpoint serves plain requests here: 426 for GET and HEAD, 405 for other methods. */
  private refuseRequest(req: IncomingMessage, res: ServerResponse): void {
    const upgrade = req.method === 'GET' || req.method === 'HEAD';
    const refusal = upgrade
      ? refuse('NOT_WEBSOCKET', undefined, { headers: { Upgrade: 'websocket', Connection: 'Upgrade' } })
      : refuse('METHOD_NOT_ALLOWED', `${req.method} is not allowed: this is a WebSocket endpoint (wstcp).`, {
          headers: { Allow: 'GET' },
        });
    answerRefusal(res, refusal);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.listener.settle(socket);
    const routed = this.route(req);
    if (routed?.route.upgrade) routed.route.upgrade(req, socket, head, routed.path);
    else this.options.upgrade(req, socket, head);
  }

  /** A proxy tunnel request: Node drops it without a word unless someone listens. This is no proxy. */
  private onConnect(req: IncomingMessage, socket: Duplex): void {
    this.listener.settle(socket);
    const refusal = refuse(
      'METHOD_NOT_ALLOWED',
      'CONNECT is not allowed: this is a WebSocket endpoint (wstcp)',
      {
        headers: { Allow: this.options.web ? 'GET, HEAD' : 'GET' },
      },
    );
    this.options.refused(refusal.code);
    this.options.log.warn('handshake.refused', {
      client: peerOf(req.socket),
      status: refusal.status,
      code: refusal.code,
      reason: refusal.message,
    });
    this.listener.refuse(socket, refusal);
  }

  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    this.listener.settle(socket);
    const { log } = this.options;
    if (err.code?.startsWith('ERR_SSL_') || (err as { library?: string }).library === 'SSL routines') {
      this.options.refused(ErrorCode.TLS_HANDSHAKE);
      // A failed TLS handshake (the TLS terminator logs it): there is no channel to answer HTTP on.
      log.debug('tls.handshake_failed', { client: peerOf(socket as Socket), error: err.code ?? err.message });
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const refusal = tooLarge
      ? refuse('HEADERS_TOO_LARGE', 'request headers too large')
      : refuse('BAD_HANDSHAKE', 'malformed HTTP request');
    this.options.refused(refusal.code);
    log.warn('handshake.refused', {
      client: peerOf(socket as Socket),
      status: refusal.status,
      code: refusal.code,
      reason: tooLarge ? refusal.message : `${refusal.message} (${err.code ?? err.message})`,
    });
    this.listener.refuse(socket, refusal);
  }
}
