/**
 * The upgrade pipeline for one handshake (see pipeline.ts): check the request, run the gates, resolve and
 * vet the target, connect to it. Either everything succeeds and the caller owns the target socket and the
 * gates' releases, or nothing is left behind and the caller gets the HttpError to answer with.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { normalizeAddress, type Target } from './address.js';
import type { BridgeParts } from './assemble.js';
import { connectTarget } from './connect.js';
import { HttpError, refuse } from './errors.js';
import { checkUpgradeRequest } from './handshake.js';
import type { HandshakeContext, Release } from './pipeline.js';
import { parseRequestUrl } from './request-url.js';

export interface Admitted {
  readonly ok: true;
  readonly ctx: HandshakeContext;
  readonly target: Target;
  readonly targetSocket: Duplex;
  /** The subprotocol to answer with ('' for none). */
  readonly protocol: 'binary' | '';
  /** To be called once when the session ends (or the upgrade fails after all). */
  readonly releases: Release[];
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

/** Runs the pipeline for `req`. Never throws. */
export async function admit(
  req: IncomingMessage,
  socket: Duplex,
  parts: BridgeParts,
  options: AdmitOptions,
): Promise<Admitted | Refused> {
  const releases: Release[] = [];
  // A client that leaves while we connect aborts the connect attempt.
  const gone = new AbortController();
  const onGone = () => gone.abort();
  socket.once('close', onGone);
  let target: Target | undefined;
  try {
    const ctx = handshakeContext(req, socket);
    const protocol = checkUpgradeRequest(req);
    for (const gate of parts.gates) {
      const release = await gate(ctx);
      if (release) releases.push(release);
    }
    target = await parts.resolver.resolve(ctx);
    parts.policy?.(target, ctx);
    const targetSocket = await connectTarget(target, {
      timeoutMs: options.connectTimeoutMs,
      preferIpv6: options.preferIpv6,
      tls: parts.targetTls,
      signal: gone.signal,
    });
    return { ok: true, ctx, target, targetSocket, protocol, releases };
  } catch (err) {
    for (const release of releases) release();
    if (err instanceof HttpError) return { ok: false, error: err, unexpected: undefined, target };
    const error = new HttpError('WSTCP_INTERNAL', 500, 'internal error while handling the handshake');
    return { ok: false, error, unexpected: err, target };
  } finally {
    socket.removeListener('close', onGone);
  }
}

function handshakeContext(req: IncomingMessage, socket: Duplex): HandshakeContext {
  const url = parseRequestUrl(req.url);
  if (!url) throw refuse('BAD_HANDSHAKE', 'malformed request URL');
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
