/**
 * The one builder of a HandshakeContext, for WebSocket handshakes (admit.ts) and for plain requests that
 * pass the same gates (--web-auth: auth/http-guard.ts), so that every gate sees the same fields.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { refuse } from '../errors.js';
import { type ClientAddressPolicy, socketPeerPolicy } from './client-address.js';
import type { HandshakeContext } from './pipeline.js';
import { parseRequestUrl } from './request-url.js';

/**
 * The context of `req`, arrived on `socket` (the connection, plain or TLS), from the client `clientOf`
 * works out (--trusted-proxy). Throws BAD_HANDSHAKE (400) when the request target is not a URL path.
 */
export function handshakeContext(
  req: IncomingMessage,
  socket: Duplex = req.socket,
  clientOf: ClientAddressPolicy = socketPeerPolicy,
): HandshakeContext {
  const url = parseRequestUrl(req.url);
  if (!url) throw refuse('BAD_HANDSHAKE', 'malformed request URL');
  const raw = req.socket;
  const client = clientOf(req);
  return {
    req,
    url,
    clientAddress: client.address,
    clientPort: client.port,
    secure: (raw as { encrypted?: boolean }).encrypted === true,
    socket: socket as Socket,
  };
}
