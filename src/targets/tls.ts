/**
 * TLS towards the target (--ssl-target), on a socket a socket kind has connected: the handshake must
 * complete before the deadline, and the certificate is checked against the target's host name.
 */
import { isIP, type Socket } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { describeError, refuse } from '../errors.js';
import { whenReady } from './socket-connect.js';
import type { OpenOptions } from './target.js';

/**
 * Speaks TLS over `socket` to the target called `name`; `host` is the TCP target's host (undefined for a
 * unix socket). Rejects with TARGET_UNREACHABLE or TARGET_TIMEOUT, `socket` destroyed.
 */
export function upgradeToTls(
  socket: Socket,
  name: string,
  host: string | undefined,
  tls: ConnectionOptions,
  options: OpenOptions,
): Promise<TLSSocket> {
  const servername = host !== undefined && isIP(host) === 0 ? host : undefined;
  // Without `host`, an IP target's certificate would be checked against the name "localhost".
  const secure = tlsConnect({ ...tls, socket, host, servername: tls.servername ?? servername });
  return whenReady(secure, 'secureConnect', {
    timeoutMs: Math.max(1, options.deadline - Date.now()),
    signal: options.signal,
    name,
    failed: (err) =>
      refuse('TARGET_UNREACHABLE', `TLS to target ${name} failed: ${describeError(err)}`, { cause: err }),
    timedOut: () => refuse('TARGET_TIMEOUT', `TLS handshake with target ${name} took too long`),
  }).catch((err: unknown) => {
    socket.destroy();
    throw err;
  });
}
