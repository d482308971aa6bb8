/**
 * --target-from-url: the client names its target in the request URL, as clients that pick their own do:
 * `?address=host:port` (Neon's wsproxy and the Neon driver's string `wsProxy`) or the last path segment,
 * `/host:port` or `/[v6]:port` (emscripten's sockets, browser SSH clients). TCP targets only: a URL never
 * names a unix socket or any other kind. config.ts refuses to start without --allow-target, whose policy
 * vets the target this resolver returns like any other; the object vetted is the object opened, so the
 * address is read once and nothing reads it a second, different way.
 *
 * The address must be spelled plainly after one percent-decoding: a host name (letters, digits, hyphens,
 * dots, at most one trailing dot, not ending in a numeric label), a dotted-quad IPv4 address or an IPv6
 * address without a zone (bracketed, or unbracketed with the port after the last colon as Neon's driver
 * writes it), then a decimal port. Anything else (userinfo, encoded or doubled separators, backslashes,
 * whitespace, two `address` parameters, a trailing slash) is 400 BAD_TARGET.
 */
import { isIP } from 'node:net';
import { refuse } from '../errors.js';
import type { TcpTarget } from '../targets/tcp.js';
import type { TargetResolver } from './pipeline.js';

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** getaddrinfo reads `127.1`, `2130706433` and `0x7f.1` as IPv4 addresses: none of them is a host name. */
const NUMERIC_LABEL = /^(?:\d+|0x[0-9a-f]*)$/i;
const USAGE = 'name the target as ?address=host:port or as the last path segment /host:port';

function isHostName(host: string): boolean {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  return labels.every((label) => LABEL.test(label)) && !NUMERIC_LABEL.test(labels[labels.length - 1]!);
}

/** `host:port`, `[v6]:port` or `v6:port` -> the target; undefined when it is not spelled plainly. */
export function parseUrlAddress(text: string): TcpTarget | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9A-Za-z.:-]+)):(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const [, bracketed, bare = '', portText = ''] = match;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  const host = bracketed ?? bare;
  const family = isIP(host);
  if (bracketed !== undefined ? family !== 6 : family === 0 && !isHostName(host)) return undefined;
  return { kind: 'tcp', host, port };
}

function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * The target a request URL names; throws BAD_TARGET (400) when it names none or one not spelled plainly.
 * @example targetFromUrl(new URL('http://h/v1?address=127.0.0.1:5432')) // { kind: 'tcp', host: '127.0.0.1', port: 5432 }
 */
export function targetFromUrl(url: URL): TcpTarget {
  const addresses = url.searchParams.getAll('address');
  if (addresses.length > 1) throw refuse('BAD_TARGET', `the URL has more than one address: ${USAGE}`);
  let text = addresses[0];
  if (text === undefined) {
    // The path as the request spelled it (WHATWG only turned `\` into `/`): its last segment, decoded once.
    const segment = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
    text = segment === '' ? undefined : decoded(segment);
  }
  const target = text === undefined ? undefined : parseUrlAddress(text);
  if (target === undefined) throw refuse('BAD_TARGET', `the URL names no usable target: ${USAGE}`);
  return target;
}

/** The resolver for --target-from-url (vetted afterwards by the --allow-target policy, which it requires). */
export function urlTargetResolver(): TargetResolver {
  return { resolve: async (ctx) => targetFromUrl(ctx.url), close: async () => {} };
}
