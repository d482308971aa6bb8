/**
 * The bridge: a Listener hands connections to an HTTP server; upgrade requests go through the pipeline
 * (upgrade.ts) and each accepted WebSocket becomes a Session (relay.ts); plain requests go to the web
 * handler or get 426/405. The bridge owns the sessions, its timers (heartbeat, idle sweeps, exit timers)
 * and the pipeline parts, and tears them all down in close().
 */
import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { formatTarget, peerOf, type Target } from './address.js';
import { assembleParts, type BridgeParts } from './assemble.js';
import type { Config } from './config.js';
import { describeError, refuse } from './errors.js';
import { acceptUpgrade, offersDeflate } from './handshake.js';
import { Listener } from './listener.js';
import { type Logger, silentLogger } from './log.js';
import { Recorder } from './record.js';
import { Session, type SessionOptions } from './relay.js';
import { loggedPath } from './request-url.js';
import { type Admitted, admit, type Refused } from './upgrade.js';
import { FrameLink } from './websocket/frame-link.js';
import type { ClientLink } from './websocket/link.js';
import { WsLink } from './websocket/ws-link.js';

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

/**
 * A listening bridge. Emits `session-open` (Session), `session-close` (Session) and `done` (DoneReason)
 * when --run-once / --timeout / --idle-timeout say it is time to exit; the owner then calls close().
 */
export class Bridge extends EventEmitter {
  readonly sessions = new Set<Session>();
  readonly stats: BridgeStats = { opened: 0, closed: 0, refused: 0, bytesToTarget: 0, bytesToClient: 0 };

  private readonly listener: Listener;
  private readonly http: ReturnType<typeof createHttpServer>;
  /** `ws`, for sessions that negotiate compression (`--permessage-deflate`); wstcp frames all others. */
  private readonly deflating: WebSocketServer | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private idleExitTimer: NodeJS.Timeout | undefined;
  private nextSessionId = 1;
  private readonly targetNames = new WeakMap<Target, string>();
  /** Shared by every session (see relay.ts: sessions keep as little of their own as they can). */
  private readonly sessionOptions: SessionOptions;
  private readonly onSessionEnd = (session: Session) => this.endSession(session);
  private readonly recordings = new Set<Promise<void>>();
  private closing: Promise<void> | undefined;

  private constructor(
    readonly config: Config,
    private readonly parts: BridgeParts,
    private readonly log: Logger,
  ) {
    super();
    this.sessionOptions = { maxBufferBytes: config.maxBufferBytes, log, traffic: config.traffic };
    this.deflating = config.perMessageDeflate
      ? new WebSocketServer({
          noServer: true,
          clientTracking: false,
          perMessageDeflate: true,
          maxPayload: config.limits.maxMessageBytes,
          // Valid text is forwarded as its bytes; invalid text and close reasons are refused with 1007.
          skipUTF8Validation: !config.utf8Check,
          handleProtocols: (offered) => (offered.has('binary') ? 'binary' : false),
        })
      : undefined;
    this.http = createHttpServer({ maxHeaderSize: config.limits.maxHeaderBytes, keepAliveTimeout: 5000 });
    this.http.headersTimeout = config.limits.handshakeTimeoutMs;
    // This server never listens itself (the Listener hands it connections), and Node sets up its
    // connection tracking on 'listening': without it closeIdleConnections() does nothing, and close() waits
    // for idle keep-alive connections to time out.
    this.http.emit('listening');
    this.http.on('request', (req, res) => this.onRequest(req, res));
    this.http.on('upgrade', (req, socket, head) => void this.onUpgrade(req, socket, head));
    this.http.on('connect', (req, socket) => this.onConnect(req, socket));
    this.http.on('clientError', (err, socket) => this.onClientError(err as NodeJS.ErrnoException, socket));
    this.listener = new Listener({
      tls: parts.tls,
      handshakeTimeoutMs: config.limits.handshakeTimeoutMs,
      log,
      onConnection: (socket) => this.http.emit('connection', socket),
      onHandshakeTimeout: () => this.stats.refused++,
      onBadRequestLine: () => this.stats.refused++,
    });
  }

  /** Builds the pipeline from `config`, starts listening and returns the bridge. */
  static async start(config: Config, options: BridgeOptions = {}): Promise<Bridge> {
    const log = options.log ?? silentLogger;
    const parts = options.parts ?? (await assembleParts(config, log));
    const bridge = new Bridge(config, parts, log);
    try {
      await bridge.listener.listen(config.listen, config.unixListenMode);
    } catch (err) {
      await closeParts(parts, log);
      throw err;
    }
    bridge.startTimers();
    return bridge;
  }

  /** The bound TCP port (0 for a unix socket listener). */
  get port(): number {
    return this.listener.port;
  }

  /** `host:port` or the unix socket path the bridge listens on, for log lines. */
  get listenAddress(): string {
    return this.listener.address;
  }

  /**
   * Stops accepting, closes every session with 1001 (waiting up to 5 s for them to finish their closing
   * handshakes, then dropping the rest), and releases the pipeline's resources. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    clearTimeout(this.idleExitTimer);
    const stopped = this.listener.close();
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
    // The listening socket closes only when every connection it accepted is gone, keep-alive ones included.
    this.http.closeAllConnections();
    await Promise.all(this.recordings);
    await stopped;
    this.deflating?.close();
    await closeParts(this.parts, this.log);
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
        void this.listener.stop();
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

  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    this.listener.settle(socket);
    if (err.code?.startsWith('ERR_SSL_') || (err as { library?: string }).library === 'SSL routines') {
      // A failed TLS handshake (the TLS terminator logs it): there is no channel to answer HTTP on.
      this.stats.refused++;
      this.log.debug('tls.handshake_failed', {
        client: peerOf(socket as Socket),
        error: err.code ?? err.message,
      });
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const refusal = tooLarge
      ? refuse('HEADERS_TOO_LARGE', 'request headers too large')
      : refuse('BAD_HANDSHAKE', 'malformed HTTP request');
    this.stats.refused++;
    this.log.warn('handshake.refused', {
      client: peerOf(socket as Socket),
      status: refusal.status,
      code: refusal.code,
      reason: tooLarge ? refusal.message : `${refusal.message} (${err.code ?? err.message})`,
    });
    this.listener.refuse(socket, refusal);
  }

  /** A proxy tunnel request: Node drops it without a word unless someone listens. This is no proxy. */
  private onConnect(req: IncomingMessage, socket: Duplex): void {
    this.listener.settle(socket);
    const refusal = refuse(
      'METHOD_NOT_ALLOWED',
      'CONNECT is not allowed: this is a WebSocket endpoint (wstcp)',
      {
        headers: { Allow: this.parts.http ? 'GET, HEAD' : 'GET' },
      },
    );
    this.stats.refused++;
    this.log.warn('handshake.refused', {
      client: peerOf(req.socket),
      status: refusal.status,
      code: refusal.code,
      reason: refusal.message,
    });
    this.listener.refuse(socket, refusal);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.listener.settle(req.socket);
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
    this.listener.settle(socket);
    if (this.closing) {
      this.listener.refuse(socket, refuse('SHUTTING_DOWN', 'the server is shutting down'));
      return;
    }
    const result = await admit(req, socket, this.parts, this.config);
    if (!result.ok) {
      this.refuseHandshake(req, socket, result);
      return;
    }
    const { targetSocket, releases } = result;
    const releaseAll = () => {
      for (const release of releases.splice(0)) release();
    };
    if (socket.destroyed || this.closing) {
      targetSocket.destroy();
      releaseAll();
      if (!socket.destroyed)
        this.listener.refuse(socket, refuse('SHUTTING_DOWN', 'the server is shutting down'));
      this.log.info('handshake.abandoned', {
        client: peerOf(req.socket),
        target: formatTarget(result.target),
      });
      return;
    }
    if (this.deflating && offersDeflate(req)) {
      this.upgradeWithWs(this.deflating, req, socket, head, result, releaseAll);
      return;
    }
    acceptUpgrade(socket, req, result.protocol);
    const { limits, utf8Check } = this.config;
    const link = new FrameLink(socket as Socket, result.protocol, limits.maxMessageBytes, head, utf8Check);
    this.startSession(link, result);
  }

  /** Compression was agreed: the `ws` library answers the handshake and carries the session's frames. */
  private upgradeWithWs(
    deflating: WebSocketServer,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    admitted: Admitted,
    releaseAll: () => void,
  ): void {
    const { targetSocket } = admitted;
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
    deflating.handleUpgrade(req, socket, head, (ws) => {
      accepted = true;
      socket.removeListener('close', onRefusedByWs);
      targetSocket.removeListener('error', onEarlyError);
      this.startSession(new WsLink(ws, socket), admitted);
    });
  }

  private refuseHandshake(req: IncomingMessage, socket: Duplex, refused: Refused): void {
    this.stats.refused++;
    const { error, unexpected, target } = refused;
    const fields = {
      client: peerOf(req.socket),
      path: this.logPath(req),
      target: target ? formatTarget(target) : undefined,
      status: error.status,
      code: error.code,
      reason: error.message,
    };
    if (unexpected !== undefined)
      this.log.error('handshake.failed', { ...fields, error: describeError(unexpected) });
    else this.log.warn('handshake.refused', fields);
    this.listener.refuse(socket, error);
  }

  /** The request path for log lines: no query, and no token in it when tokens route. */
  private logPath(req: IncomingMessage): string {
    return loggedPath(req.url, this.config.tokens !== undefined);
  }

  private startSession(link: ClientLink, admitted: Admitted): void {
    const { ctx, target, targetSocket, releases } = admitted;
    const id = this.nextSessionId++;
    const recorder = this.config.record
      ? new Recorder(`${this.config.record}.${id}`, this.log, id)
      : undefined;
    const session = new Session(
      {
        id,
        clientAddress: ctx.clientAddress,
        clientPort: ctx.clientPort,
        target: this.targetName(target),
        releases,
        recorder,
      },
      link,
      targetSocket,
      this.sessionOptions,
      this.onSessionEnd,
    );
    this.sessions.add(session);
    this.stats.opened++;
    clearTimeout(this.idleExitTimer);
    this.log.info('session.open', {
      session: id,
      client: session.client,
      target: session.target,
      path: this.logPath(ctx.req),
      protocol: link.protocol || undefined,
      tls: ctx.secure || undefined,
      record: recorder?.path,
    });
    if (this.config.runOnce) void this.listener.stop();
    this.emit('session-open', session);
  }

  /** `host:port` of a target, formatted once per Target object (a fixed target: once in all). */
  private targetName(target: Target): string {
    let name = this.targetNames.get(target);
    if (name === undefined) {
      name = formatTarget(target);
      this.targetNames.set(target, name);
    }
    return name;
  }

  /** Recordings still being flushed; close() waits for them so an exit right after keeps the EOF line. */
  private finishRecording(recorder: Recorder): void {
    const flushed = recorder.close().finally(() => this.recordings.delete(flushed));
    this.recordings.add(flushed);
  }

  private endSession(session: Session): void {
    if (session.recorder) this.finishRecording(session.recorder);
    this.sessions.delete(session);
    for (const release of session.releases) release();
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
