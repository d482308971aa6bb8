/**
 * The real client address behind trusted proxies, from the PROXY protocol header of the connection
 * (remembered here per socket by the listener) or from X-Forwarded-For or Forwarded, whichever the
 * proxies write.
 *
 * Each proxy appends the address it received the request from, so the list is read from the right: the
 * first hop that is not a trusted proxy is the client. Everything left of it was written by the client
 * itself and is ignored, and a request from an untrusted peer is taken at its socket's word.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { UNIX_CLIENT } from '../address.js';
import type { ProxiedPeer } from '../front/proxy-protocol.js';
import { type TrustedProxies, trustedProxies } from './trusted-proxies.js';

const proxied = new WeakMap<object, ProxiedPeer>();

/** Records the address a PROXY protocol header gave for `socket` (and for a TLS socket wrapping it). */
export function rememberProxiedPeer(socket: object, peer: ProxiedPeer): void {
  proxied.set(socket, peer);
}

/** The address a PROXY protocol header gave for `socket`, if any. */
export function proxiedPeerOf(socket: object): ProxiedPeer | undefined {
  return proxied.get(socket);
}

/** An address out of one hop: `a.b.c.d`, `a.b.c.d:port`, `v6`, `[v6]` or `[v6]:port`; undefined if none. */
export function hopAddress(text: string): string | undefined {
  let hop = text.trim();
  if (hop.startsWith('"') && hop.endsWith('"') && hop.length >= 2) hop = hop.slice(1, -1);
  if (hop.startsWith('[')) {
    const close = hop.indexOf(']');
    if (close < 0) return undefined;
    hop = hop.slice(1, close);
    return isIP(hop) === 6 ? hop.toLowerCase() : undefined;
  }
  if (isIP(hop) !== 0) return hop.toLowerCase();
  const colon = hop.lastIndexOf(':');
  if (colon > 0 && hop.indexOf(':') === colon && isIP(hop.slice(0, colon)) === 4) return hop.slice(0, colon);
  return undefined;
}

/** The `for=` values of a Forwarded header (RFC 7239), in order; undefined for an obfuscated or bad one. */
export function forwardedFor(header: string): (string | undefined)[] {
  const hops: (string | undefined)[] = [];
  for (const element of header.split(',')) {
    for (const pair of element.split(';')) {
      const equals = pair.indexOf('=');
      if (equals < 0) continue;
      if (pair.slice(0, equals).trim().toLowerCase() !== 'for') continue;
      hops.push(hopAddress(pair.slice(equals + 1)));
    }
  }
  return hops;
}

/**
 * Which header the trusted proxies write (--forwarded-header). Only one is read: a proxy that appends to
 * one of them passes the other through as the client wrote it, so reading both would let a client pick
 * its own address (HAProxy `option forwardfor` and a client-made `Forwarded: for=...`, for one).
 */
export type ForwardedHeader = 'x-forwarded-for' | 'forwarded';

/** The hops the proxies added, in order, from the one header they write. */
function forwardedHops(
  headers: IncomingHttpHeaders,
  header: ForwardedHeader,
): (string | undefined)[] | undefined {
  const value = headers[header];
  const text = Array.isArray(value) ? value.join(',') : value;
  if (typeof text !== 'string' || text.trim() === '') return undefined;
  return header === 'forwarded' ? forwardedFor(text) : text.split(',').map(hopAddress);
}

/**
 * The client's address for a request that arrived from `peer` (the socket's address, or the PROXY
 * protocol source). Headers count only when `peer` is a trusted proxy; a hop that is not an address
 * (`unknown`, `_hidden`, garbage) stops the walk at the last address known to be real.
 *
 * @example
 * // peer 10.0.0.5 (trusted), X-Forwarded-For: 6.6.6.6, 192.0.2.1, 10.0.0.4 (trusted)
 * clientAddressOf('10.0.0.5', headers, trusted); // '192.0.2.1'
 */
export function clientAddressOf(
  peer: string,
  headers: IncomingHttpHeaders,
  trusted: TrustedProxies,
  header: ForwardedHeader = 'x-forwarded-for',
): string {
  if (!trusted.has(peer)) return peer;
  const hops = forwardedHops(headers, header);
  if (!hops) return peer;
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    if (hop === undefined) return client;
    client = unmapIpv4(hop);
    if (!trusted.has(client)) return client;
  }
  return client;
}

function unmapIpv4(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** Works out who sent a request: the real client behind the trusted proxies, or the socket's peer. */
export type ClientAddressPolicy = (req: IncomingMessage) => ProxiedPeer;

/** `::ffff:a.b.c.d` (an IPv4 client on a dual-stack socket) as a.b.c.d, so each client has one form. */
function socketPeer(req: IncomingMessage): ProxiedPeer {
  const socket = req.socket;
  const proxiedPeer = proxiedPeerOf(socket);
  if (proxiedPeer) return proxiedPeer;
  // A unix socket's peer has no address: log lines say "unix" (behind a proxy, see --proxy-protocol).
  if (socket.remoteAddress === undefined) return { address: UNIX_CLIENT, port: 0 };
  return { address: unmapIpv4(socket.remoteAddress), port: socket.remotePort ?? 0 };
}

/**
 * The policy for --trusted-proxy `ranges` and --forwarded-header `header`. Without ranges, the peer (or
 * the PROXY protocol source) is the client. A client named by a forwarded header has port 0: the header
 * carries no reliable port.
 */
export function clientAddressPolicy(
  ranges: readonly string[],
  header: ForwardedHeader = 'x-forwarded-for',
): ClientAddressPolicy {
  if (ranges.length === 0) return socketPeer;
  const trusted = trustedProxies(ranges);
  return (req) => {
    const peer = socketPeer(req);
    const address = clientAddressOf(peer.address, req.headers, trusted, header);
    return address === peer.address ? peer : { address, port: 0 };
  };
}

/** The policy of a bridge without --trusted-proxy. */
export const socketPeerPolicy: ClientAddressPolicy = socketPeer;
