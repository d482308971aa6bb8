/**
 * The listening socket and the first moments of every connection: binding (dual stack, unix socket),
 * telling TLS from plain HTTP by the first byte, and cutting off clients that do not complete a request
 * within the handshake timeout (slowloris). Each connection is then handed to the HTTP server, which calls
 * `settle()` once a complete request has arrived. Refused connections come back here (`refuse()`): the
 * listener owns them until they are gone.
 */

import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { boundAddress, boundPort, formatHostPort, peerOf } from '../address.js';
import { proxiedPeerOf, rememberProxiedPeer } from '../admission/client-address.js';
import type { TlsTerminator } from '../admission/pipeline.js';
import type { TrustedProxies } from '../admission/trusted-proxies.js';
import type { ListenSpec } from '../config/config.js';
import { describeError, ErrorCode, type HttpError, refuse, WstcpError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { AcceptFailures } from './accept-failures.js';
import { listenHint } from './listen-hint.js';
import { ProxyProtocolError } from './proxy-protocol.js';
import { readProxyHeader } from './proxy-reader.js';
import { answerRefusal } from './refusal.js';
import { hasLenientSpacing, readFirstRequestLine } from './request-line.js';

export interface ListenerOptions {
  readonly tls: TlsTerminator | undefined;
  readonly handshakeTimeoutMs: number;
  readonly log: Logger;
  /** Receives each accepted connection, plain or TLS-terminated. */
  readonly onConnection: (socket: Duplex) => void;
  /** Called when a connection is cut off at the handshake timeout (for the refusal counter). */
  readonly onHandshakeTimeout: () => void;
  /** Called when a connection's first request line is refused (for the refusal counter). */
  readonly onBadRequestLine: () => void;
  /**
   * --proxy-protocol: every connection must come from one of these proxies and start with a PROXY
   * header, whose source becomes the connection's client address.
   */
  readonly proxyProtocol?: TrustedProxies | undefined;
  /** A connection refused before HTTP (not a trusted proxy, a bad PROXY header), with its stable code. */
  readonly onProxyRefused?: (code: string) => void;
  /** A TLS handshake on the listener ended, with its result. */
  readonly onTlsHandshake?: ((ok: boolean) => void) | undefined;
}

const TLS_RECORD_HANDSHAKE = 0x16;
/**
 * How long a refused connection is kept after its answer was written, for the client to read it and close:
 * sockets are half-open (see the constructor), so one that never closes would otherwise be kept forever.
 */
const REFUSAL_LINGER_MS = 1000;

export class Listener {
  private readonly server: Server;
  /** Connections without a complete request yet, with their handshake timers. */
  private readonly pending = new Map<Duplex, NodeJS.Timeout>();
  /** Refused connections whose answer is written, with the timers that destroy them. */
  private readonly refused = new Map<Duplex, NodeJS.Timeout>();
  private stopping: Promise<void> | undefined;
  private closing = false;
  /** One 'close' listener shared by all pending connections (`this` is the socket); removed on settling. */
  private readonly settleOnClose: (this: Duplex) => void;
  private readonly acceptFailures: AcceptFailures;
  /** The same for refused connections. */
  private readonly forgetOnClose: (this: Duplex) => void;

  constructor(private readonly options: ListenerOptions) {
    this.acceptFailures = new AcceptFailures(options.log);
    const listener = this;
    this.settleOnClose = function (this: Duplex) {
      listener.settle(this);
    };
    this.forgetOnClose = function (this: Duplex) {
      listener.forget(this);
    };
    this.server = createServer(
      // Half-open like Node's own HTTP server: a client that sends its request and then shuts down its
      // sending side (printf ... | nc) still gets its answer.
      { allowHalfOpen: true, pauseOnConnect: options.tls !== undefined },
      (socket) => this.accept(socket),
    );
  }

  /** The bound TCP port (0 for a unix socket). */
  get port(): number {
    return boundPort(this.server);
  }

  /** `host:port` or the unix socket path, for log lines. */
  get address(): string {
    return boundAddress(this.server);
  }

  /**
   * Binds `address`. Without a host: '::' with ipv6Only false, which accepts IPv4 too (as ::ffff:a.b.c.d),
   * falling back to 0.0.0.0 on hosts without IPv6. Throws WSTCP_LISTEN with a readable reason.
   */
  async listen(address: ListenSpec, unixMode: number): Promise<void> {
    if (address.kind === 'fd') {
      // --inetd: the socket is already bound and listening; Node refuses a descriptor that is not a socket.
      await this.bind(
        { fd: address.fd },
        `descriptor ${address.fd} (--inetd needs a listening socket there)`,
      );
      return;
    }
    if (address.kind === 'unix') {
      removeStaleSocket(address.path);
      await this.bind({ path: address.path }, address.path);
      chmodSync(address.path, unixMode);
      return;
    }
    if (address.host !== undefined) {
      await this.bind({ host: address.host, port: address.port }, formatHostPort(address.host, address.port));
      return;
    }
    try {
      await this.bind({ host: '::', port: address.port, ipv6Only: false }, `[::]:${address.port}`);
    } catch (err) {
      const code = ((err as WstcpError).cause as NodeJS.ErrnoException | undefined)?.code;
      if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw err;
      await this.bind({ host: '0.0.0.0', port: address.port }, `0.0.0.0:${address.port}`);
    }
  }

  /** A complete request arrived on `socket`: its handshake timer stops. */
  settle(socket: Duplex): void {
    const timer = this.pending.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.pending.delete(socket);
    socket.removeListener('close', this.settleOnClose);
  }

  /**
   * Answers a refused connection with `err` and ends it. The connection stays readable, so that the
   * client's FIN closes it, and is destroyed after REFUSAL_LINGER_MS (at once when the listener closes).
   */
  refuse(socket: Duplex, err: HttpError): void {
    this.settle(socket);
    answerRefusal(socket, err);
    if (socket.destroyed || this.refused.has(socket)) return;
    socket.resume();
    const timer = setTimeout(destroyRefused.bind(socket), REFUSAL_LINGER_MS);
    timer.unref();
    // close() has already destroyed the others: this one goes as soon as its answer is written.
    if (this.closing) socket.once('finish', destroyRefused);
    this.refused.set(socket, timer);
    socket.on('close', this.forgetOnClose);
  }

  /** Stops accepting new connections (idempotent); resolves when the listening socket is closed. */
  stop(): Promise<void> {
    this.stopping ??= new Promise((resolve) => this.server.close(() => resolve()));
    return this.stopping;
  }

  /**
   * Stops accepting and destroys every connection that has not completed a request or was refused: the
   * listening socket closes only when every connection it accepted is gone.
   */
  close(): Promise<void> {
    this.closing = true;
    const stopped = this.stop();
    for (const [socket, timer] of this.pending) {
      clearTimeout(timer);
      socket.destroy();
    }
    this.pending.clear();
    for (const socket of [...this.refused.keys()]) socket.destroy();
    return stopped;
  }

  private forget(socket: Duplex): void {
    clearTimeout(this.refused.get(socket));
    this.refused.delete(socket);
  }

  private bind(
    options: { host?: string; port?: number; path?: string; ipv6Only?: boolean; fd?: number },
    name: string,
  ) {
    return new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const why =
          err.code === 'EADDRINUSE'
            ? 'the address is in use'
            : err.code === 'EACCES'
              ? 'permission denied'
              : err.message;
        const hint = listenHint(err.code, options);
        reject(
          new WstcpError(
            ErrorCode.LISTEN,
            `cannot listen on ${name}: ${why} (${err.code})${hint ? `; ${hint}` : ''}`,
            {
              cause: err,
            },
          ),
        );
      };
      this.server.once('error', onError);
      this.server.listen(options, () => {
        this.server.removeListener('error', onError);
        // After bind, errors are per accept (EMFILE, when libuv does not swallow it): log and keep serving.
        this.server.on('error', (err: NodeJS.ErrnoException) => this.acceptFailures.report(err));
        resolve();
      });
    });
  }

  private accept(raw: Socket): void {
    if (this.stopping) {
      raw.destroy();
      return;
    }
    this.acceptFailures.checkHeadroom();
    const { log, proxyProtocol } = this.options;
    raw.on('error', (err) => log.debug('connection.error', { error: describeError(err) }));
    this.track(raw);
    if (proxyProtocol) this.acceptProxied(raw, proxyProtocol);
    else this.acceptDirect(raw);
  }

  /** --proxy-protocol: only a trusted proxy, and only with a valid header, gets to the HTTP layer. */
  private acceptProxied(raw: Socket, trusted: TrustedProxies): void {
    const { log } = this.options;
    const refuseProxy = (code: string, reason: string) => {
      log.warn('connection.refused', { client: peerOf(raw), code, reason });
      this.options.onProxyRefused?.(code);
      raw.destroy();
    };
    // A unix socket peer has no address: the socket file's mode (--unix-listen-mode) decides who connects.
    const unixPeer = raw.remoteAddress === undefined;
    if (!unixPeer && !trusted.has(raw.remoteAddress ?? '')) {
      refuseProxy(ErrorCode.UNTRUSTED_PROXY, 'not a --trusted-proxy (--proxy-protocol is on)');
      return;
    }
    readProxyHeader(raw, this.options.handshakeTimeoutMs).then(
      (header) => {
        if (raw.destroyed) return;
        if (header.kind === 'proxy') rememberProxiedPeer(raw, header.source);
        this.acceptDirect(raw);
      },
      (err: unknown) => {
        if (raw.destroyed) return;
        const code = err instanceof ProxyProtocolError ? err.code : ErrorCode.PROXY_PROTOCOL;
        refuseProxy(code, (err as Error).message);
      },
    );
  }

  private acceptDirect(raw: Socket): void {
    const { tls, log } = this.options;
    if (!tls) {
      this.handOver(raw);
      return;
    }
    // The first byte tells TLS (a ClientHello record) from plain HTTP. It is put back before anyone reads:
    // a TLSSocket picks buffered bytes up by itself, so only the plain branches resume the raw socket.
    raw.once('data', (first: Buffer) => {
      raw.pause();
      raw.unshift(first);
      if (first[0] === TLS_RECORD_HANDSHAKE) {
        const secure = tls.wrap(raw);
        const proxied = proxiedPeerOf(raw);
        if (proxied) rememberProxiedPeer(secure, proxied);
        const onTlsHandshake = this.options.onTlsHandshake;
        if (onTlsHandshake) {
          // Closed before 'secure': the handshake failed (a refused certificate, a bad hello, a client gone).
          let secured = false;
          secure.once('secure', () => {
            secured = true;
            onTlsHandshake(true);
          });
          secure.once('close', () => secured || onTlsHandshake(false));
        }
        secure.on('error', (err) =>
          log.debug('tls.error', { client: peerOf(raw), error: describeError(err) }),
        );
        this.settle(raw);
        this.track(secure);
        this.handOver(secure);
        return;
      }
      if (tls.sslOnly) {
        log.warn('connection.refused', { client: peerOf(raw), reason: 'plain connection while --ssl-only' });
        this.refuse(raw, refuse('FORBIDDEN', 'this endpoint requires TLS (wss:// or https://)'));
        return;
      }
      this.handOver(raw);
    });
    raw.resume();
  }

  /** Hands `socket` to the HTTP server once its first request line is known to be spaced as RFC 9112 says. */
  private handOver(socket: Duplex): void {
    readFirstRequestLine(socket, (line) => {
      if (line === undefined || !hasLenientSpacing(line)) {
        this.options.onConnection(socket);
        socket.resume();
        return;
      }
      this.options.onBadRequestLine();
      const refusal = refuse('BAD_HANDSHAKE', 'malformed request line: one space between its parts');
      this.options.log.warn('handshake.refused', {
        client: peerOf(socket as Socket),
        status: refusal.status,
        code: refusal.code,
        reason: refusal.message,
      });
      this.refuse(socket, refusal);
    });
  }

  private track(socket: Duplex): void {
    const timer = setTimeout(() => this.handshakeTimeout(socket), this.options.handshakeTimeoutMs);
    this.pending.set(socket, timer);
    socket.on('close', this.settleOnClose);
  }

  private handshakeTimeout(socket: Duplex): void {
    this.pending.delete(socket);
    this.options.onHandshakeTimeout();
    this.options.log.warn('handshake.timeout', {
      client: peerOf(socket as Socket),
      seconds: this.options.handshakeTimeoutMs / 1000,
    });
    this.refuse(socket, refuse('HANDSHAKE_TIMEOUT', 'the request did not arrive in time'));
  }
}

function destroyRefused(this: Duplex): void {
  this.destroy();
}

function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Nothing there: nothing to remove.
  }
}
