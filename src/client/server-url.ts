/**
 * The server's URL as a user writes it: `ws://`, `wss://` (or `http://`, `https://`), with `%h` and `%p`
 * filled from ssh's ProxyCommand arguments, and `user:password@` turned into a Basic Authorization header
 * so the password never travels in the URL nor reaches a log line. `display` is the form logs may show.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../errors.js';

export interface ServerUrl {
  /** The URL to request: no userinfo, `%h`/`%p` filled, scheme ws: or wss:. */
  readonly url: URL;
  readonly secure: boolean;
  /** Host name or address, IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
  /** `Basic ...` built from the URL's userinfo, or undefined. */
  readonly authorization: string | undefined;
  /** For log lines and messages: scheme, host, port and path; query values replaced by `***`. */
  readonly display: string;
}

/** ssh's ProxyCommand arguments (`wstcp connect URL %h %p`) that fill `%h` and `%p` in the URL. */
export interface Placeholders {
  readonly host?: string;
  readonly port?: string;
}

const SCHEMES: Record<string, 'ws:' | 'wss:'> = {
  'ws:': 'ws:',
  'wss:': 'wss:',
  'http:': 'ws:',
  'https:': 'wss:',
};

/** `%h` and `%p` are not percent escapes (h and p are not hex digits), so they can only be placeholders. */
function fillPlaceholders(text: string, fill: Placeholders): string {
  return text.replace(/%([hp])/g, (_match, letter: string) => {
    const value = letter === 'h' ? fill.host : fill.port;
    if (value === undefined) {
      throw new ConfigError(
        `the URL contains %${letter} but no ${letter === 'h' ? 'HOST' : 'PORT'} argument follows it ` +
          `(as a ProxyCommand: wstcp connect 'URL' %h %p)`,
      );
    }
    return encodeURIComponent(value);
  });
}

/** A log-safe form: query values (tokens) are replaced, userinfo is already gone. */
function displayForm(url: URL): string {
  const names = [...url.searchParams.keys()];
  const query = names.length ? `?${names.map((name) => `${encodeURIComponent(name)}=***`).join('&')}` : '';
  return `${url.protocol}//${url.host}${url.pathname}${query}`;
}

/** Parses and checks the server URL; throws ConfigError with a sentence saying what is wrong. */
export function parseServerUrl(text: string, fill: Placeholders = {}): ServerUrl {
  let url: URL;
  try {
    url = new URL(fillPlaceholders(text, fill));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError('the server URL is not a valid URL (expected ws://HOST[:PORT]/PATH or wss://...)');
  }
  const scheme = SCHEMES[url.protocol];
  if (!scheme) {
    throw new ConfigError(`the server URL must start with ws:// or wss:// (not ${url.protocol}//)`);
  }
  if (url.hash) throw new ConfigError('the server URL must not contain a #fragment');
  let authorization: string | undefined;
  if (url.username || url.password) {
    const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  // Changing between special schemes keeps everything else (ws: and http: are both special).
  url.protocol = scheme;
  const secure = scheme === 'wss:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!host) throw new ConfigError('the server URL has no host');
  const port = url.port ? Number(url.port) : secure ? 443 : 80;
  return Object.freeze({ url, secure, host, port, authorization, display: displayForm(url) });
}

/** The TLS server name to send: the URL's host name; none for an IP address (RFC 6066 forbids it). */
export function serverName(server: ServerUrl): string | undefined {
  return isIP(server.host) ? undefined : server.host;
}
