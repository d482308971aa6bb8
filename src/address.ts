/**
 * Addresses as websockify users write them: `port`, `host:port`, `[v6]:port`, `v6:addr:port` (the port is
 * after the last colon). Kinds of target build their text forms on these (targets/).
 */
import { isIP, type Server } from 'node:net';
import { proxiedPeerOf } from './admission/client-address.js';

/** Where the bridge listens. `host` undefined means every address, IPv6 and IPv4 (dual stack). */
export type ListenAddress =
  | { readonly kind: 'tcp'; readonly host: string | undefined; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/** Thrown by the parsers; callers wrap it into a ConfigError naming the flag or file:line. */
export class AddressError extends Error {}

function parsePort(text: string, whole: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new AddressError(`"${whole}" has no valid port (expected 1-65535)`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new AddressError(`"${whole}" has port ${port}, outside 1-65535`);
  return port;
}

function unbracket(host: string, whole: string): string {
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) throw new AddressError(`"${whole}" has an unclosed [ in its host`);
    const inner = host.slice(1, -1);
    if (isIP(inner) !== 6) throw new AddressError(`"${whole}": "${inner}" is not an IPv6 address`);
    return inner;
  }
  if (host === '') throw new AddressError(`"${whole}" has an empty host`);
  if (/[\s/]/.test(host)) throw new AddressError(`"${whole}" has an invalid host "${host}"`);
  return host;
}

/** Splits `host:port`, `[v6]:port` or `v6:addr:port` at the last colon. */
export function parseHostPort(text: string): { host: string; port: number } {
  const trimmed = text.trim();
  const colon = trimmed.lastIndexOf(':');
  if (colon < 0) throw new AddressError(`"${trimmed}" is not host:port`);
  const host = unbracket(trimmed.slice(0, colon), trimmed);
  return { host, port: parsePort(trimmed.slice(colon + 1), trimmed) };
}

/** Parses the listen argument: `port`, `host:port` or `[v6]:port`. */
export function parseListen(text: string): ListenAddress {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { kind: 'tcp', host: undefined, port: parseListenPort(trimmed, trimmed) };
  const colon = trimmed.lastIndexOf(':');
  if (colon < 0) throw new AddressError(`"${trimmed}" is not [host:]port`);
  const host = unbracket(trimmed.slice(0, colon), trimmed);
  return { kind: 'tcp', host, port: parseListenPort(trimmed.slice(colon + 1), trimmed) };
}

/** Listen ports may be 0 (the system picks one), which tests use. */
function parseListenPort(text: string, whole: string): number {
  if (text === '0') return 0;
  return parsePort(text, whole);
}

/** `host:port` with IPv6 literals bracketed, for log lines and messages. */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The TCP port `server` is bound to (0 for a unix socket, or before it listens). */
export function boundPort(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

/** Where `server` listens, `host:port` or the unix socket path, for log lines. */
export function boundAddress(server: Server): string {
  const address = server.address();
  if (typeof address === 'string' || !address) return String(address);
  return formatHostPort(address.address, address.port);
}

/** `::ffff:1.2.3.4` (IPv4 on a dual-stack socket) -> `1.2.3.4`; other addresses unchanged. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** What log lines say for a client that came over a unix socket (--unix-listen): it has no address. */
export const UNIX_CLIENT = 'unix';

/** The remote end of a socket as `host:port` (UNIX_CLIENT for a unix socket), for log lines. */
export function peerOf(socket: {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
}): string {
  // Behind --proxy-protocol, the client the proxy named, in every log line about the connection.
  const proxied = proxiedPeerOf(socket);
  if (proxied) return formatHostPort(proxied.address, proxied.port);
  if (socket.remoteAddress === undefined) return UNIX_CLIENT;
  return formatHostPort(normalizeAddress(socket.remoteAddress), socket.remotePort ?? 0);
}
