/** The facts about an HTTP request that a program's environment is made of (see environment.ts). */
import { lookupService } from 'node:dns/promises';
import type { IncomingMessage } from 'node:http';
import { normalizeAddress } from '../../address.js';
import { proxiedPeerOf } from '../../admission/client-address.js';
import type { RequestFacts } from './environment.js';

/** How long a reverse lookup (--reverse-lookup) may delay a handshake before the address is used. */
const REVERSE_LOOKUP_MS = 2000;

/**
 * Reads `req` as RequestFacts; with `reverseLookup`, REMOTE_HOST is the client's name when it has one.
 * REMOTE_ADDR is `client` when given (the handshake's client, behind --trusted-proxy proxies the real one),
 * else the PROXY protocol source or the socket's peer.
 */
export async function requestFacts(
  req: IncomingMessage,
  reverseLookup: boolean,
  client?: { readonly address: string; readonly port: number },
): Promise<RequestFacts> {
  const socket = req.socket;
  const peer = client ?? proxiedPeerOf(socket);
  const remoteAddress = peer ? peer.address : normalizeAddress(socket.remoteAddress ?? '');
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    httpVersion: req.httpVersion,
    rawHeaders: req.rawHeaders,
    remoteAddress,
    remotePort: peer ? peer.port : (socket.remotePort ?? 0),
    remoteHost: reverseLookup ? await nameOf(remoteAddress) : remoteAddress,
    secure: (socket as { encrypted?: boolean }).encrypted === true,
  };
}

/**
 * The name of `address` as the system resolves it (getnameinfo: /etc/hosts first, as Go's resolver in
 * websocketd), or the address itself when it has none or the lookup is slow.
 */
async function nameOf(address: string): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const slow = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(address), REVERSE_LOOKUP_MS);
  });
  const found = lookupService(address, 0).then(
    ({ hostname }) => hostname || address,
    () => address,
  );
  try {
    return await Promise.race([found, slow]);
  } finally {
    clearTimeout(timer);
  }
}
