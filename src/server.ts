/**
 * The bridge: accepts connections, terminates TLS when the first byte says so, runs the upgrade pipeline
 * (gates -> resolver -> allow-list -> target connect; see pipeline.ts) and hands each accepted WebSocket to
 * a Session. Owns every socket until a Session takes it, and every timer it starts.
 */
import { EventEmitter } from 'node:events';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createNetServer, isIP, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { formatTarget, type Target } from './address.js';
import { assembleParts, type BridgeParts } from './assemble.js';
import type { Config } from './config.js';
import { connectTarget } from './connect.js';
import { describeError, HttpError, refuse, WstcpError } from './errors.js';
import { abortHandshake, checkUpgradeRequest } from './handshake.js';
import { type Logger, silentLogger } from './log.js';
import type { HandshakeContext, Release } from './pipeline.js';
import { Session } from './relay.js';

export interface BridgeOptions {
  readonly log?: Logger;
  /** Pre-built pipeline parts (tests); built from the config by default. */
  readonly parts?: BridgeParts;
}

export interface BridgeStats {
  opened: number;
  closed: number;
  refused: number;
  bytesToTarget: number;
  bytesToClient: number;
}

/** Why the bridge asks its owner to shut it down. */
export type DoneReason = 'run-once' | 'timeout' | 'idle-timeout';

const SHUTDOWN_GRACE_MS = 5000;
const TLS_RECORD_HANDSHAKE = 0x16;

/**
 * A listening bridge. Emits `session-open` (Session), `session-close` (Session) and `done` (DoneReason)
 * when --run-once / --timeout / --idle-timeout say it is time to exit; the owner then calls close().
 */
export class Bridge extends EventEmitter {
  readonly sessions = new Set<Session>();
  readonly stats: BridgeStats = { opened: 0, closed: 0, refused: 0, bytesToTarget: 0, bytesToClient: 0 };

  private readonly listener: NetServer;
  private readonly http: HttpServer;
  private readonly wss: WebSocketServer;
  /** Accepted sockets that have not sent a complete request yet, with their handshake timers. */
  private readonly handshaking = new Map<Duplex, NodeJS.Timeout>();
  private readonly timers: NodeJS.Timeout[] = [];
  private idleExitTimer: NodeJS.Timeout | undefined;
  private nextSessionId = 1;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly config: Config,
    private readonly parts: BridgeParts,
    private readonly log: Logger,
  ) {
    super();
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: config.perMessageDeflate,
      maxPayload: config.limits.maxMessageBytes,
      // Text frames are forwarded as their bytes, so there is nothing to validate.
      skipUTF8Validation: true,
      handleProtocols: (offered) => (offered.has('binary') ? 'binary' : false),
    });
    this.http = createHttpServer({ maxHeaderSize: config.limits.maxHeaderBytes, keepAliveTimeout: 5000 });
    this.http.headersTimeout = config.limits.handshakeTimeoutMs;
    // This server never listens itself (the net listener hands it connections), and Node sets up its
    // connection tracking on 'listening': without it closeIdleConnections() does nothing, and close() waits
    // for idle keep-alive connections to time out.
    this.http.emit('listening');
    this.http.on('request', (req, res) => this.onRequest(req, res));
    this.http.on('upgrade', (req, socket, head) => void this.onUpgrade(req, socket, head));
    this.http.on('clientError', (err, socket) => this.onClientError(err as NodeJS.ErrnoException, socket));
    this.listener = createNetServer({ pauseOnConnect: parts.tls !== undefined }, (socket) =>
      this.accept(socket),
    );
  }

  /** Builds the pipeline from `config`, starts listening and returns the bridge. */
  static async start(config: Config, options: BridgeOptions = {}): Promise<Bridge> {
    const log = options.log ?? silentLogger;
    const parts = options.parts ?? (await assembleParts(config, log));
    const bridge = new Bridge(config, parts, log);
    try {
      await bridge.listen();
    } catch (err) {
      await closeParts(parts, log);
      throw err;
    }
    bridge.startTimers();
    return bridge;
  }

  /** The bound TCP port (0 for a unix socket listener). */
  get port(): number {
    const address = this.listener.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /** `host:port` or the unix socket path the bridge listens on, for log lines. */
  get listenAddress(): string {
    const address = this.listener.address();
    if (typeof address === 'string' || !address) return String(address);
    return formatTarget({ kind: 'tcp', host: address.address, port: address.port });
  }

  /**
   * Stops accepting, closes every session with 1001 (waiting up to 5 s for them to finish their closing
   * handshakes, then dropping the rest), and releases the pipeline's resources. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  get isClosing(): boolean {
    return this.closing !== undefined;
  }

  private async shutdown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    clearTimeout(this.idleExitTimer);
    const stopped = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    for (const [socket, timer] of this.handshaking) {
      clearTimeout(timer);
      socket.destroy();
    }
    this.handshaking.clear();
    // Drops idle keep-alive connections and stops the tracking timer started by 'listening'.
    this.http.close();
    if (this.sessions.size > 0) {
      this.log.info('bridge.shutdown', { sessions: this.sessions.size });
      const drained = new Promise<void>((resolve) => {
        const check = () => this.sessions.size === 0 && resolve();
        this.on('session-close', check);
        check();
      });
      for (const session of this.sessions) session.close(1001, 'server shutting down');
      const grace = setTimeout(() => {
        for (const session of this.sessions) session.terminate('shutdown grace period over');
      }, SHUTDOWN_GRACE_MS);
      await drained;
      clearTimeout(grace);
    }
    await stopped;
    this.http.closeAllConnections();
    this.wss.close();
    await closeParts(this.parts, this.log);
  }

  private async listen(): Promise<void> {
    const { listen } = this.config;
    if (listen.kind === 'unix') {
      removeStaleSocket(listen.path);
      await this.bind({ path: listen.path }, listen.path);
      chmodSync(listen.path, this.config.unixListenMode);
      return;
    }
    if (listen.host !== undefined) {
      await this.bind({ host: listen.host, port: listen.port }, formatTarget(listen));
      return;
    }
    try {
      // Dual stack: '::' with ipv6Only false accepts IPv4 too (as ::ffff:a.b.c.d).
      await this.bind({ host: '::', port: listen.port, ipv6Only: false }, `[::]:${listen.port}`);
    } catch (err) {
      const code = (err as WstcpError).cause && ((err as WstcpError).cause as NodeJS.ErrnoException).code;
      if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw err;
      await this.bind({ host: '0.0.0.0', port: listen.port }, `0.0.0.0:${listen.port}`);
    }
  }

  private bind(options: { host?: string; port?: number; path?: string; ipv6Only?: boolean }, name: string) {
    return new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const why =
          err.code === 'EADDRINUSE'
            ? 'the address is in use'
            : err.code === 'EACCES'
              ? 'permission denied'
              : err.message;
        reject(
          new WstcpError('WSTCP_LISTEN', `cannot listen on ${name}: ${why} (${err.code})`, { cause: err }),
        );
      };
      this.listener.once('error', onError);
      this.listener.listen(options, () => {
        this.listener.removeListener('error', onError);
        // After bind, errors are per-accept (EMFILE): log them and keep serving.
        this.listener.on('error', (err: NodeJS.ErrnoException) =>
          this.log.error('accept.failed', { error: describeError(err) }),
        );
        resolve();
      });
    });
  }

  private startTimers(): void {
    const { heartbeatMs, sessionIdleTimeoutMs, acceptTimeoutMs, idleExitMs } = this.config;
    if (heartbeatMs) {
      this.timers.push(
        setInterval(() => {
          for (const session of this.sessions) session.heartbeat();
        }, heartbeatMs),
      );
    }
    if (sessionIdleTimeoutMs) this.timers.push(this.idleSweeper(sessionIdleTimeoutMs));
    if (acceptTimeoutMs) {
      const timer = setTimeout(() => {
        this.log.info('bridge.accept_timeout', { seconds: acceptTimeoutMs / 1000 });
        this.listener.close();
        if (this.sessions.size === 0) this.emit('done', 'timeout');
        else this.on('session-close', () => this.sessions.size === 0 && this.emit('done', 'timeout'));
      }, acceptTimeoutMs);
      this.timers.push(timer);
    }
    if (idleExitMs) this.armIdleExit();
  }

  /** Closes sessions whose byte counters have not moved for `idleMs`. Costs nothing per frame. */
  private idleSweeper(idleMs: number): NodeJS.Timeout {
    const seen = new WeakMap<Session, { total: number; since: number }>();
    return setInterval(
      () => {
        const now = Date.now();
        for (const session of this.sessions) {
          const total = session.bytesToClient + session.bytesToTarget;
          const last = seen.get(session);
          if (!last || last.total !== total) seen.set(session, { total, since: now });
          else if (now - last.since >= idleMs) session.close(1000, 'session idle timeout');
        }
      },
      Math.max(50, Math.min(1000, idleMs / 4)),
    );
  }

  private armIdleExit(): void {
    clearTimeout(this.idleExitTimer);
    const ms = this.config.idleExitMs;
    if (!ms || this.sessions.size > 0 || this.closing) return;
    this.idleExitTimer = setTimeout(() => {
      this.log.info('bridge.idle_timeout', { seconds: ms / 1000 });
      this.emit('done', 'idle-timeout');
    }, ms);
  }

  private accept(raw: Socket): void {
    if (this.closing) {
      raw.destroy();
      return;
    }
    raw.on('error', (err) => this.log.debug('connection.error', { error: describeError(err) }));
    this.track(raw);
    const tls = this.parts.tls;
    if (!tls) {
      this.http.emit('connection', raw);
      return;
    }
    // The first byte tells TLS (a ClientHello record) from plain HTTP. It is put back before anyone reads:
    // a TLSSocket picks buffered bytes up by itself, so only the plain branch resumes the raw socket.
    raw.once('data', (first: Buffer) => {
      raw.pause();
      raw.unshift(first);
      if (first[0] === TLS_RECORD_HANDSHAKE) {
        const secure = tls.wrap(raw);
        secure.on('error', (err) =>
          this.log.debug('tls.error', { client: peer(raw), error: describeError(err) }),
        );
        this.untrack(raw);
        this.track(secure);
        this.http.emit('connection', secure);
        return;
      }
      if (tls.sslOnly) {
        this.log.warn('connection.refused', {
          client: peer(raw),
          reason: 'plain connection while --ssl-only',
        });
        abortHandshake(raw, refuse('FORBIDDEN', 'this endpoint requires TLS (wss:// or https://)'));
        // A paused socket never sees the client's FIN and never closes (close() then waits forever):
        // drain it, and leave the handshake timer to destroy it if the client keeps it open.
        raw.resume();
        return;
      }
      this.http.emit('connection', raw);
      raw.resume();
    });
    raw.resume();
  }

  /** Starts the handshake timer of a connection (slowloris protection). */
  private track(socket: Duplex): void {
    const timer = setTimeout(() => this.handshakeTimeout(socket), this.config.limits.handshakeTimeoutMs);
    this.handshaking.set(socket, timer);
    socket.once('close', () => this.untrack(socket));
  }

  private untrack(socket: Duplex): void {
    const timer = this.handshaking.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.handshaking.delete(socket);
  }

  private handshakeTimeout(socket: Duplex): void {
    this.handshaking.delete(socket);
    this.stats.refused++;
    this.log.warn('handshake.timeout', {
      client: peer(socket as Socket),
      seconds: this.config.limits.handshakeTimeoutMs / 1000,
    });
    abortHandshake(socket, refuse('HANDSHAKE_TIMEOUT', 'the request did not arrive in time'));
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    this.untrack(socket);
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    this.stats.refused++;
    this.log.warn('handshake.refused', {
      client: peer(socket as Socket),
      status: tooLarge ? 431 : 400,
      code: tooLarge ? 'WSTCP_HEADERS_TOO_LARGE' : 'WSTCP_BAD_HANDSHAKE',
      reason: tooLarge ? 'request headers too large' : `malformed request (${err.code ?? err.message})`,
    });
    abortHandshake(
      socket,
      tooLarge
        ? refuse('HEADERS_TOO_LARGE', 'request headers too large')
        : refuse('BAD_HANDSHAKE', 'malformed HTTP request'),
    );
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.untrack(req.socket);
    if (this.parts.http) {
      this.parts.http(req, res);
      return;
    }
    const upgrade = req.method === 'GET' || req.method === 'HEAD';
    const body = upgrade
      ? 'This is a WebSocket endpoint (wstcp): connect with a WebSocket client such as noVNC.\n'
      : `${req.method} is not allowed: this is a WebSocket endpoint (wstcp).\n`;
    res.writeHead(upgrade ? 426 : 405, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      ...(upgrade ? { Upgrade: 'websocket', Connection: 'Upgrade' } : { Allow: 'GET' }),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    this.untrack(socket);
    const releases: Release[] = [];
    const releaseAll = () => {
      for (const release of releases.splice(0)) release();
    };
    const gone = new AbortController();
    const onGone = () => gone.abort();
    socket.once('close', onGone);
    let ctx: HandshakeContext | undefined;
    let target: Target | undefined;
    let targetSocket: Duplex;
    try {
      if (this.closing) throw refuse('SHUTTING_DOWN', 'the server is shutting down');
      ctx = handshakeContext(req, socket);
      checkUpgradeRequest(req);
      for (const gate of this.parts.gates) {
        const release = await gate(ctx);
        if (release) releases.push(release);
      }
      target = await this.parts.resolver.resolve(ctx);
      this.parts.policy?.(target, ctx);
      targetSocket = await connectTarget(target, {
        timeoutMs: this.config.connectTimeoutMs,
        preferIpv6: this.config.preferIpv6,
        tls: this.parts.targetTls,
        signal: gone.signal,
      });
    } catch (err) {
      socket.removeListener('close', onGone);
      releaseAll();
      this.refuseHandshake(req, socket, err, target);
      return;
    } finally {
      socket.removeListener('close', onGone);
    }
    if (socket.destroyed || this.closing) {
      targetSocket.destroy();
      releaseAll();
      if (!socket.destroyed) abortHandshake(socket, refuse('SHUTTING_DOWN', 'the server is shutting down'));
      this.log.info('handshake.abandoned', { client: ctx.clientAddress, target: formatTarget(target) });
      return;
    }
    // Until a Session owns the target socket, an early reset must not become an unhandled 'error'.
    const onEarlyError = (err: Error) => this.log.debug('target.early_error', { error: describeError(err) });
    targetSocket.on('error', onEarlyError);
    // ws may still refuse (it re-validates); then the socket closes without a callback: release it all.
    let accepted = false;
    const onRefusedByWs = () => {
      if (accepted) return;
      targetSocket.destroy();
      releaseAll();
    };
    socket.once('close', onRefusedByWs);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      accepted = true;
      socket.removeListener('close', onRefusedByWs);
      targetSocket.removeListener('error', onEarlyError);
      this.startSession(ws, socket, targetSocket, ctx!, target!, releases);
    });
  }

  private refuseHandshake(
    req: IncomingMessage,
    socket: Duplex,
    err: unknown,
    target: Target | undefined,
  ): void {
    this.stats.refused++;
    const httpError =
      err instanceof HttpError
        ? err
        : new HttpError('WSTCP_INTERNAL', 500, 'internal error while handling the handshake');
    const fields = {
      client: peer(socket as Socket),
      path: pathOf(req),
      target: target ? formatTarget(target) : undefined,
      status: httpError.status,
      code: httpError.code,
      reason: httpError.message,
    };
    if (httpError.status >= 500 && !(err instanceof HttpError)) {
      this.log.error('handshake.failed', { ...fields, error: describeError(err) });
    } else {
      this.log.warn('handshake.refused', fields);
    }
    abortHandshake(socket, httpError);
  }

  private startSession(
    ws: WebSocket,
    clientSocket: Duplex,
    targetSocket: Duplex,
    ctx: HandshakeContext,
    target: Target,
    releases: Release[],
  ): void {
    const info = {
      id: this.nextSessionId++,
      client: formatTarget({ kind: 'tcp', host: ctx.clientAddress, port: ctx.clientPort }),
      target: formatTarget(target),
    };
    const session = new Session(
      info,
      ws,
      clientSocket,
      targetSocket,
      { maxBufferBytes: this.config.maxBufferBytes, log: this.log, traffic: this.config.traffic },
      (ended) => this.endSession(ended, releases),
    );
    this.sessions.add(session);
    this.stats.opened++;
    clearTimeout(this.idleExitTimer);
    this.log.info('session.open', {
      session: info.id,
      client: info.client,
      target: info.target,
      path: pathOf(ctx.req),
      protocol: ws.protocol || undefined,
      tls: ctx.secure || undefined,
    });
    if (this.config.runOnce) this.listener.close();
    this.emit('session-open', session);
  }

  private endSession(session: Session, releases: Release[]): void {
    this.sessions.delete(session);
    for (const release of releases) release();
    this.stats.closed++;
    this.stats.bytesToTarget += session.bytesToTarget;
    this.stats.bytesToClient += session.bytesToClient;
    this.emit('session-close', session);
    if (this.config.runOnce) this.emit('done', 'run-once');
    else this.armIdleExit();
  }
}

async function closeParts(parts: BridgeParts, log: Logger): Promise<void> {
  const results = await Promise.allSettled([parts.resolver.close(), parts.tls?.close()]);
  for (const result of results) {
    if (result.status === 'rejected')
      log.warn('bridge.close_failed', { error: describeError(result.reason) });
  }
}

function handshakeContext(req: IncomingMessage, socket: Duplex): HandshakeContext {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://wstcp.invalid');
  } catch {
    throw refuse('BAD_HANDSHAKE', 'malformed request URL');
  }
  const raw = req.socket;
  return {
    req,
    url,
    clientAddress: normalizeAddress(raw.remoteAddress ?? ''),
    clientPort: raw.remotePort ?? 0,
    secure: (raw as { encrypted?: boolean }).encrypted === true,
    socket: socket as Socket,
  };
}

/** `::ffff:1.2.3.4` (IPv4 on a dual-stack socket) -> `1.2.3.4`. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function peer(socket: Socket): string {
  const address = normalizeAddress(socket.remoteAddress ?? '?');
  return formatTarget({ kind: 'tcp', host: address, port: socket.remotePort ?? 0 });
}

/** The request path without its query string: queries carry tokens, which never reach the logs. */
function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Nothing there: nothing to remove.
  }
}
