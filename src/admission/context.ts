/**
 * The one builder of a HandshakeContext, for WebSocket handshakes (admit.ts) and for plain requests that
 * pass the same gates (--web-auth: auth/http-guard.ts), so that every gate sees the same fields.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { normalizeAddress } from '../address.js';
import { refuse } from '../errors.js';
import type { HandshakeContext } from './pipeline.js';
import { parseRequestUrl } from './request-url.js';

/**
 * The context of `req`, arrived on `socket` (the connection, plain or TLS). Throws BAD_HANDSHAKE (400)
 * when the request target is not a URL path.
 */
export function handshakeContext(req: IncomingMessage, socket: Duplex = req.socket): HandshakeContext {
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
