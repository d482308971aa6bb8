/**
 * The bridge: the front door (front/) takes connections and routes requests; each WebSocket upgrade is
 * admitted (admission/: gates, target resolved, vetted and opened), accepted (front/accept.ts) and
 * becomes a Session (relay/) between its client link and its target stream. The bridge owns the
 * sessions, their counters and timers, the exit policy and the pipeline parts, and tears them all down
 * in close().
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Admitted, admit } from './admission/admit.js';
import { assembleParts, type BridgeParts } from './admission/assemble.js';
import { HandshakeLog } from './admission/handshake-log.js';
import type { HttpHandler } from './admission/pipeline.js';
import { isProbe } from './admission/probe.js';
import { trustedProxies } from './admission/trusted-proxies.js';
import type { ChannelStats } from './channels/store.js';
import type { Config } from './config/config.js';
import { describeError, Refusal, refuse } from './errors.js';
import { type DoneReason, ExitPolicy } from './exit-policy.js';
import { WebSocketAcceptor } from './front/accept.js';
import { FrontDoor } from './front/front-door.js';
import { answerRefusal } from './front/refusal.js';
import { buildRoutes, type Route } from './front/routes.js';
import { Health } from './observe/health.js';
import { type Logger, silentLogger } from './observe/log.js';
import type { Metrics } from './observe/metrics.js';
import { Recorder } from './observe/record.js';
import { type BridgeStats, StatsTally } from './observe/stats.js';
import { timedResolver } from './observe/timed-resolver.js';
import { Session, type SessionOptions } from './relay/session.js';
import { startSessionTimers } from './relay/session-timers.js';
import type { MemberSnapshot } from './targets/pool/member-state.js';
import { formatTarget } from './targets/registry.js';
import type { Target } from './targets/target.js';
import type { ClientLink } from './websocket/link.js';

export interface BridgeOptions {
  readonly log?: Logger;
  /** Pre-built pipeline parts (tests); built from the config by default. */
  readonly parts?: BridgeParts;
}

const SHUTDOWN_GRACE_MS = 5000;

/**
 * A listening bridge. Emits `session-open` (Session), `session-close` (Session) and `done` (DoneReason)
 * when --run-once / --timeout / --idle-timeout say it is time to exit; the owner then calls close().
 */
export class Bridge extends EventEmitter {
  readonly sessions = new Set<Session>();
  /** /healthz and /readyz: ready once listening, not ready from the first SIGTERM (drain) on. */
  readonly health = new Health();
  /** The metrics registry (--metrics); served by the CLI or summed by the --workers primary. */
  readonly metrics: Metrics | undefined;
  /** The target kind of each session, for the sessions-open gauge. */
  private readonly sessionKinds = new WeakMap<Session, string>();

  private readonly front: FrontDoor;
  /** Endpoints besides sessions (front/routes.ts), readied before listening and closed in close(). */
  private readonly routes: readonly Route[];
  private readonly acceptor: WebSocketAcceptor;
  private readonly tally = new StatsTally();
  private readonly exitPolicy: ExitPolicy;
  private stopTimers: (() => void) | undefined;
  private nextSessionId = 1;
  private readonly targetNames = new WeakMap<Target, string>();
  /** Shared by every session (see relay/session.ts: sessions keep as little of their own as they can). */
  private readonly sessionOptions: SessionOptions;
  private readonly onSessionEnd = (session: Session) => this.endSession(session);
  private readonly recordings = new Set<Promise<void>>();
  private readonly handshakes: HandshakeLog;
  private closing: Promise<void> | undefined;

  private readonly parts: BridgeParts;

  private constructor(
    readonly config: Config,
    parts: BridgeParts,
    private readonly log: Logger,
    metricsModule: typeof import('./observe/metrics.js') | undefined,
  ) {
    super();
    const metrics = metricsModule ? new metricsModule.Metrics(() => this.stats) : undefined;
    this.metrics = metrics;
    this.parts =
      metrics && config.tokens ? { ...parts, resolver: timedResolver(parts.resolver, metrics) } : parts;
    const tls = parts.tls;
    if (metrics && tls) metrics.certificateExpiry(() => tls.expiresAt);
    const slots = parts.slots;
    if (slots?.problem) this.health.addCheck(() => slots.problem!());
    const resolver = parts.resolver;
    if (resolver.problem) this.health.addCheck(() => resolver.problem!());
    this.routes = buildRoutes({
      config,
      log,
      stats: () => this.stats,
      gates: this.parts.gates,
      health: this.health,
    });
    if (metrics) {
      for (const route of this.routes) {
        const counted = route as { stats?: () => ChannelStats | undefined };
        if (typeof counted.stats === 'function') metrics.channelStats(() => counted.stats!());
      }
    }
    this.sessionOptions = { maxBufferBytes: config.maxBufferBytes, log, traffic: config.traffic };
    this.handshakes = new HandshakeLog(
      log,
      config.tokens !== undefined,
      parts.clientOf,
      config.tokens?.hostToken,
    );
    this.acceptor = new WebSocketAcceptor({
      perMessageDeflate: config.perMessageDeflate,
      maxMessageBytes: config.limits.maxMessageBytes,
      utf8Check: config.utf8Check,
      headers: config.headers.ws,
    });
    this.front = new FrontDoor({
      maxHeaderBytes: config.limits.maxHeaderBytes,
      handshakeTimeoutMs: config.limits.handshakeTimeoutMs,
      tls: parts.tls,
      log,
      routes: this.routes,
      web: parts.http && withProbe(parts.http, (req, res) => void this.onProbe(req, res)),
      upgrade: (req, socket, head) => void this.onUpgrade(req, socket, head),
      refused: (code) => {
        this.tally.refused();
        metrics?.handshakeRefused(code);
      },
      proxyProtocol: config.ops.proxyProtocol ? trustedProxies(config.ops.trustedProxies) : undefined,
      tlsHandshake: metrics ? (ok) => metrics.tlsHandshake(ok) : undefined,
    });
    this.exitPolicy = new ExitPolicy(config, {
      sessions: this.sessions,
      log,
      stopAccepting: () => this.front.stopAccepting(),
      done: (reason: DoneReason) => this.emit('done', reason),
    });
  }

  /** Builds the pipeline from `config`, starts listening and returns the bridge. */
  static async start(config: Config, options: BridgeOptions = {}): Promise<Bridge> {
    const log = options.log ?? silentLogger;
    const parts = options.parts ?? (await assembleParts(config, log));
    // prom-client is loaded only with --metrics (see assemble.ts on why modules load on demand).
    const metricsModule = config.ops.metrics ? await import('./observe/metrics.js') : undefined;
    const bridge = new Bridge(config, parts, log, metricsModule);
    try {
      await Promise.all(bridge.routes.map((route) => route.ready?.()));
      await bridge.front.listen(config.listen, config.unixListenMode);
    } catch (err) {
      await closeRoutes(bridge.routes, log);
      await closeParts(parts, log);
      throw err;
    }
    const metrics = bridge.metrics;
    bridge.stopTimers = startSessionTimers(
      bridge.sessions,
      config,
      metrics && (() => metrics.heartbeatMissed()),
    );
    bridge.exitPolicy.start();
    bridge.health.markListening();
    return bridge;
  }

  /** The bound TCP port (0 for a unix socket listener). */
  get port(): number {
    return this.front.port;
  }

  /** `host:port` or the unix socket path the bridge listens on, for log lines. */
  get listenAddress(): string {
    return this.front.address;
  }

  /** The counters now (observe/stats.ts), live sessions included. */
  get stats(): BridgeStats {
    return this.tally.snapshot(this.sessions);
  }
  /** Each pool member's state and counters (sessions, failures, up/down), for metrics; empty without pools. */
  poolMembers(): MemberSnapshot[] {
    return this.parts.pools?.snapshot() ?? [];
  }

  /**
   * Stops accepting, closes every session with 1001 (waiting up to 5 s for them to finish their closing
   * handshakes, then dropping the rest), and releases the pipeline's resources. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /**
   * The first step of a graceful stop (--drain-timeout): /readyz answers 503, no connection is accepted,
   * and live sessions get up to `ms` to end on their own. Resolves with how many are still open then;
   * close() ends those with 1001.
   */
  async drain(ms: number): Promise<number> {
    this.health.markDraining();
    this.front.stopAccepting();
    if (this.sessions.size > 0 && ms > 0) {
      await new Promise<void>((resolve) => {
        const finish = () => {
          clearTimeout(deadline);
          this.off('session-close', check);
          resolve();
        };
        const check = () => {
          if (this.sessions.size === 0) finish();
        };
        const deadline = setTimeout(finish, ms);
        this.on('session-close', check);
      });
    }
    return this.sessions.size;
  }

  private async shutdown(): Promise<void> {
    this.stopTimers?.();
    this.exitPolicy.stop();
    const stopped = this.front.close();
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
    await closeRoutes(this.routes, this.log);
    // The listening socket closes only when every connection it accepted is gone, keep-alive ones included.
    this.front.closeAll();
    await Promise.all(this.recordings);
    await stopped;
    this.acceptor.close();
    await closeParts(this.parts, this.log);
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // While draining, requests on connections accepted before the signal are still served: their clients
    // were let in, and a restart behind socket activation must refuse nobody.
    if (this.closing) {
      this.tally.refused();
      this.metrics?.handshakeRefused(Refusal.SHUTTING_DOWN.code);
      this.front.refuse(socket, refuse('SHUTTING_DOWN', 'the server is shutting down'));
      return;
    }
    const started = performance.now();
    const result = await admit(req, socket, this.parts, this.config);
    if (!result.ok) {
      this.tally.refused();
      this.metrics?.handshakeRefused(result.error.code);
      this.handshakes.refused(req, result);
      this.front.refuse(socket, result.error);
      return;
    }
    const { stream, releases } = result;
    const abandon = () => {
      stream.destroy();
      for (const release of releases.splice(0)) release();
    };
    if (socket.destroyed || this.closing) {
      abandon();
      if (!socket.destroyed)
        this.front.refuse(socket, refuse('SHUTTING_DOWN', 'the server is shutting down'));
      this.handshakes.abandoned(req, result.target);
      return;
    }
    const start = (link: ClientLink) => {
      this.startSession(link, result);
      const metrics = this.metrics;
      if (metrics) {
        metrics.handshakeDone((performance.now() - started) / 1000);
        metrics.targetConnected(result.target.kind, result.connectSeconds);
      }
    };
    this.acceptor.accept(req, socket, head, result.protocol, start, abandon);
  }

  /** The viewer asks why its WebSocket failed (admission/probe.ts): admit, close at once, answer. */
  private async onProbe(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.closing) {
      answerRefusal(res, refuse('SHUTTING_DOWN', 'the server is shutting down'));
      return;
    }
    const result = await admit(req, req.socket, this.parts, this.config, { probe: true });
    if (!result.ok) {
      this.tally.refused();
      this.handshakes.refused(req, result, true);
      answerRefusal(res, result.error);
      return;
    }
    result.stream.destroy();
    for (const release of result.releases) release();
    res.writeHead(204, { 'Cache-Control': 'no-store', 'X-Wstcp-Probe': 'admitted' });
    res.end();
  }

  private startSession(link: ClientLink, admitted: Admitted): void {
    const { ctx, target, stream, releases } = admitted;
    const id = this.nextSessionId++;
    const recorder = this.config.record
      ? new Recorder(`${this.config.record}.${id}`, this.log, id)
      : undefined;
    const init = {
      id,
      clientAddress: ctx.clientAddress,
      clientPort: ctx.clientPort,
      target: this.targetName(target),
      releases,
      recorder,
    };
    const session = new Session(init, link, stream, this.sessionOptions, this.onSessionEnd);
    this.sessions.add(session);
    this.tally.opened();
    if (this.metrics) {
      this.sessionKinds.set(session, target.kind);
      this.metrics.sessionOpened(target.kind);
    }
    this.log.info('session.open', {
      session: id,
      client: session.client,
      target: session.target,
      path: this.handshakes.path(ctx.req),
      token: this.handshakes.token(ctx.req),
      protocol: link.protocol || undefined,
      tls: ctx.secure || undefined,
      record: recorder?.path,
    });
    this.exitPolicy.sessionOpened();
    this.emit('session-open', session);
  }

  /** The text form of a target, made once per Target object (a fixed target: once in all). */
  private targetName(target: Target): string {
    let name = this.targetNames.get(target);
    if (name === undefined) {
      name = formatTarget(target);
      this.targetNames.set(target, name);
    }
    return name;
  }

  private endSession(session: Session): void {
    if (session.recorder) {
      // close() waits for recordings still being flushed, so an exit right after keeps the EOF line.
      const flushed = session.recorder.close().finally(() => this.recordings.delete(flushed));
      this.recordings.add(flushed);
    }
    this.sessions.delete(session);
    for (const release of session.releases) release();
    this.tally.closed(session);
    const kind = this.sessionKinds.get(session);
    if (kind !== undefined) this.metrics?.sessionClosed(kind);
    this.emit('session-close', session);
    this.exitPolicy.sessionEnded();
  }
}

async function closeRoutes(routes: readonly Route[], log: Logger): Promise<void> {
  const results = await Promise.allSettled(routes.map((route) => route.close?.()));
  for (const result of results) {
    if (result.status === 'rejected')
      log.warn('bridge.close_failed', { error: describeError(result.reason) });
  }
}

async function closeParts(parts: BridgeParts, log: Logger): Promise<void> {
  parts.pools?.close();
  const results = await Promise.allSettled([
    parts.resolver.close(),
    parts.tls?.close(),
    parts.slots?.close(),
  ]);
  for (const result of results) {
    if (result.status === 'rejected')
      log.warn('bridge.close_failed', { error: describeError(result.reason) });
  }
}

/** The web handler, with probes (POST + X-Wstcp-Probe) taken out first. */
function withProbe(web: HttpHandler, probe: HttpHandler): HttpHandler {
  return (req, res) => (isProbe(req) ? probe(req, res) : web(req, res));
}
