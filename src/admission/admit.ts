/**
 * The upgrade pipeline for one handshake (see pipeline.ts): check the request, run the gates, resolve and
 * vet the target, open it. Either everything succeeds and the caller owns the target stream and the
 * gates' releases, or nothing is left behind and the caller gets the HttpError to answer with.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpError, refuse } from '../errors.js';
import { checkUpgradeRequest, chooseSubprotocol } from '../front/handshake.js';
import { proxyHeader } from '../targets/proxy-header.js';
import { openTarget } from '../targets/registry.js';
import type { Target, TargetStream } from '../targets/target.js';
import type { BridgeParts } from './assemble.js';
import { handshakeContext } from './context.js';
import type { HandshakeContext, Release } from './pipeline.js';

export interface Admitted {
  readonly ok: true;
  readonly ctx: HandshakeContext;
  readonly target: Target;
  readonly stream: TargetStream;
  /** The subprotocol to answer with ('' for none). */
  readonly protocol: string;
  /** To be called once when the session ends (or the upgrade fails after all). */
  readonly releases: Release[];
  /** Seconds the target took to open (--metrics). */
  readonly connectSeconds: number;
}

export interface Refused {
  readonly ok: false;
  readonly error: HttpError;
  /** The error that was not an HttpError (a bug), for the log; the client gets a plain 500. */
  readonly unexpected: unknown;
  readonly target: Target | undefined;
}

export interface AdmitOptions {
  readonly connectTimeoutMs: number;
  readonly preferIpv6: boolean;
}

/**
 * A probe (admission/probe.ts) is a plain request, not an upgrade: it skips the RFC 6455 checks and runs
 * everything else.
 */
export interface AdmitMode {
  readonly probe?: boolean;
}

/** Runs the pipeline for `req`. Never throws. */
export async function admit(
  req: IncomingMessage,
  socket: Duplex,
  parts: BridgeParts,
  options: AdmitOptions,
  mode: AdmitMode = {},
): Promise<Admitted | Refused> {
  const releases: Release[] = [];
  // A client that leaves while the target is opened aborts the attempt.
  const gone = new AbortController();
  const onGone = () => gone.abort();
  socket.once('close', onGone);
  let target: Target | undefined;
  try {
    const ctx = handshakeContext(req, socket, parts.clientOf);
    const offered = mode.probe ? undefined : checkUpgradeRequest(req);
    for (const gate of parts.gates) {
      const release = await gate(ctx);
      if (release) releases.push(release);
    }
    target = await parts.resolver.resolve(ctx);
    const protocol =
      offered === undefined ? '' : chooseSubprotocol(offered, parts.subprotocols, target.subprotocols ?? []);
    parts.policy?.(target, ctx);
    const connectStarted = performance.now();
    const stream = await openTarget(target, {
      deadline: Date.now() + options.connectTimeoutMs,
      signal: gone.signal,
      ctx,
      preferIpv6: options.preferIpv6,
      tls: parts.targetTls,
      pools: parts.pools,
    });
    const connectSeconds = (performance.now() - connectStarted) / 1000;
    if (parts.targetProxyProtocol) {
      // The target learns who the client is before any of the client's bytes (--target-proxy-protocol).
      const local = ctx.socket;
      const destination = { address: local.localAddress ?? '', port: local.localPort ?? 0 };
      const source = { address: ctx.clientAddress, port: ctx.clientPort };
      stream.write(proxyHeader(parts.targetProxyProtocol, source, destination));
    }
    return { ok: true, ctx, target, stream, protocol, releases, connectSeconds };
  } catch (err) {
    for (const release of releases) release();
    if (err instanceof HttpError) return { ok: false, error: err, unexpected: undefined, target };
    const error = refuse('INTERNAL', 'internal error while handling the handshake');
    return { ok: false, error, unexpected: err, target };
  } finally {
    socket.removeListener('close', onGone);
  }
}
