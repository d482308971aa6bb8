/**
 * Where a handshake's token comes from. In order, the first that is present wins:
 *
 * 1. with --host-token: the Host header without its port (and nothing else, as in websockify);
 * 2. the `token` query parameter, percent-decoded, the first non-empty value (`?token=X`, as noVNC sends it;
 *    websockify's parse_qs also skips empty values);
 * 3. a `token` cookie;
 * 4. the last segment of a path with at least two segments (`/t/X`, `/vnc/X`), percent-decoded, unless
 *    that segment is `websockify`: `/websockify` alone, `/` and `/anything` carry no token.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { tokenTag } from './token-tag.js';

/** The Host header's host part: `desk1.example:6080` -> `desk1.example`, `[::1]:6080` -> `::1`. */
export function hostWithoutPort(host: string): string {
  const trimmed = host.trim();
  if (trimmed.startsWith('[')) {
    const close = trimmed.indexOf(']');
    return close > 0 ? trimmed.slice(1, close) : trimmed;
  }
  const colon = trimmed.indexOf(':');
  return colon < 0 ? trimmed : trimmed.slice(0, colon);
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function fromCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== 'token') continue;
    let value = pair.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    const decoded = decode(value);
    if (decoded) return decoded;
  }
  return undefined;
}

function fromPath(pathname: string): string | undefined {
  const segments = pathname.split('/').filter((s) => s !== '');
  if (segments.length < 2) return undefined;
  const last = decode(segments[segments.length - 1]!);
  return last && last !== 'websockify' ? last : undefined;
}

/**
 * The token of a handshake, or undefined when it carries none.
 * @example
 * tokenFromRequest(new URL('http://h/websockify?token=desk1'), {}, false); // 'desk1'
 */
export function tokenFromRequest(
  url: URL,
  headers: IncomingHttpHeaders,
  hostToken: boolean,
): string | undefined {
  if (hostToken) {
    const host = headers.host ? hostWithoutPort(headers.host) : '';
    return host || undefined;
  }
  // websockify strips a trailing newline from the query value; so do we.
  const query = url.searchParams
    .getAll('token')
    .map((v) => v.replace(/\n+$/, ''))
    .find((v) => v !== '');
  return query ?? fromCookie(headers.cookie) ?? fromPath(url.pathname);
}

/**
 * The path for log lines: when its last segment would be taken as a token (rule 4), that segment is
 * replaced by the token's tag, so that `/t/SECRET` is logged as `/t/t:1a2b3c4d`. Other paths are returned
 * as they are. Query strings must be stripped by the caller (they may hold `token=`).
 * @example
 * redactPathToken('/t/desk1'); // '/t/t:…' (the tag of "desk1")
 */
export function redactPathToken(pathname: string): string {
  const token = fromPath(pathname);
  if (token === undefined) return pathname;
  const trailing = pathname.endsWith('/') ? '/' : '';
  const trimmed = trailing ? pathname.replace(/\/+$/, '') : pathname;
  return `${trimmed.slice(0, trimmed.lastIndexOf('/') + 1)}${tokenTag(token)}${trailing}`;
}
