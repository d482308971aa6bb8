/**
 * websockify's ClientCertCNAuth: the client certificate, verified by the TLS layer (--verify-client),
 * must carry one of the listed common names. The CN comes from the verified certificate only, never from
 * a request header a client could set.
 */
import type { TLSSocket } from 'node:tls';
import type { Gate, HandshakeContext } from '../admission/pipeline.js';
import { refuse } from '../errors.js';

/** The CN of the verified peer certificate, or undefined when there is none. */
export function verifiedClientCn(ctx: Pick<HandshakeContext, 'secure' | 'socket'>): string | undefined {
  if (!ctx.secure) return undefined;
  const socket = ctx.socket as TLSSocket;
  if (!socket.authorized) return undefined;
  const cn = socket.getPeerCertificate().subject?.CN;
  // A certificate may carry several CNs; Node then gives an array, which is ambiguous: refuse it.
  return typeof cn === 'string' ? cn : undefined;
}

/** A gate allowing only clients whose verified certificate CN is one of the space-separated `source` names. */
export function clientCertCnGate(source: string): Gate {
  const allowed = new Set(source.split(/\s+/).filter(Boolean));
  return (ctx: HandshakeContext) => {
    const cn = verifiedClientCn(ctx);
    if (cn === undefined) throw refuse('FORBIDDEN', 'a verified client certificate is required');
    if (!allowed.has(cn)) throw refuse('FORBIDDEN', 'the client certificate is not on the allowed list');
  };
}
