/**
 * Which HTTP proxy (if any) carries the connection to a server: `--http-proxy URL` when given ('' means
 * none), else the environment as curl reads it: HTTPS_PROXY for wss://, HTTP_PROXY for ws:// (lower-case
 * names first), skipped for hosts NO_PROXY lists. NO_PROXY entries are host names (a name also matches its
 * subdomains; a leading dot or `*.` is allowed), IP addresses, optionally with `:port`, or `*` for all.
 */
import { ConfigError } from '../errors.js';
import type { ServerUrl } from './server-url.js';

export interface ProxyAddress {
  readonly host: string;
  readonly port: number;
  /** `Basic ...` from the proxy URL's userinfo, for Proxy-Authorization. */
  readonly authorization: string | undefined;
  /** host:port, for messages (never the credentials). */
  readonly display: string;
}

function env(environment: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = environment[name.toLowerCase()] ?? environment[name.toUpperCase()];
  return value?.trim() || undefined;
}

/** Parses a proxy URL (`http://[user:pass@]host[:port]`; a bare `host:port` is taken as http). */
export function parseProxyUrl(text: string, source: string): ProxyAddress {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw new ConfigError(`${source} is not a valid proxy URL (expected http://HOST:PORT)`);
  }
  if (url.protocol !== 'http:') {
    throw new ConfigError(
      `${source}: only http:// proxies are supported (HTTP CONNECT), not ${url.protocol}//`,
    );
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!host) throw new ConfigError(`${source} has no host`);
  const port = url.port ? Number(url.port) : 80;
  const authorization =
    url.username || url.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
      : undefined;
  return Object.freeze({ host, port, authorization, display: `${url.hostname}:${port}` });
}

/** One NO_PROXY entry: `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address. */
function splitEntry(entry: string): { host: string; port: number | undefined } | undefined {
  if (entry.startsWith('[')) {
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (!bracketed) return undefined;
    return { host: bracketed[1]!, port: bracketed[2] === undefined ? undefined : Number(bracketed[2]) };
  }
  const withPort = /^([^:]+):(\d+)$/.exec(entry);
  if (withPort) return { host: withPort[1]!, port: Number(withPort[2]) };
  return { host: entry, port: undefined };
}

/** True when NO_PROXY (`list`) says `host:port` is reached directly. */
export function bypassesProxy(host: string, port: number, list: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  for (const raw of list.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === '*') return true;
    const parsed = entry ? splitEntry(entry) : undefined;
    if (!parsed || (parsed.port !== undefined && parsed.port !== port)) continue;
    const domain = parsed.host.replace(/^\*?\./, '');
    if (name === domain || name.endsWith(`.${domain}`)) return true;
  }
  return false;
}

/** The proxy for `server`, or undefined for a direct connection. */
export function chooseProxy(
  server: ServerUrl,
  flag: string | undefined,
  environment: NodeJS.ProcessEnv,
): ProxyAddress | undefined {
  if (flag !== undefined) return flag.trim() === '' ? undefined : parseProxyUrl(flag.trim(), '--http-proxy');
  const name = server.secure ? 'https_proxy' : 'http_proxy';
  const fromEnv = env(environment, name);
  if (!fromEnv) return undefined;
  const noProxy = env(environment, 'no_proxy');
  if (noProxy && bypassesProxy(server.host, server.port, noProxy)) return undefined;
  return parseProxyUrl(fromEnv, name.toUpperCase());
}
