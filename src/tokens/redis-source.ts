/**
 * Where a Redis token store lives, from websockify's `--token-source host[:port[:db[:password[:namespace]]]]`
 * (empty fields take defaults; a field may be double-quoted to hold colons) or from a
 * `redis://[user:pass@]host:port/db?prefix=ns` / `rediss://` URL. Error messages never repeat the source:
 * it may hold a password.
 */
import { ConfigError } from '../errors.js';

export interface RedisLocation {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** Keys are `namespace:token`, or just `token` without one. */
  readonly namespace: string | undefined;
  readonly tls: boolean;
  /** A CA bundle (PEM file) to verify a rediss:// server with, instead of the system CAs. */
  readonly ca: string | undefined;
}

function splitFields(source: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (source[i] === '"') {
      const close = source.indexOf('"', i + 1);
      if (close < 0) throw new ConfigError('TokenRedis --token-source: a double quote is not closed');
      field = source.slice(i + 1, close);
      i = close + 1;
      if (i < source.length && source[i] !== ':') {
        throw new ConfigError('TokenRedis --token-source: a quoted field must be followed by ":" or the end');
      }
    } else {
      const colon = source.indexOf(':', i);
      field = source.slice(i, colon < 0 ? source.length : colon);
      i = colon < 0 ? source.length : colon;
    }
    fields.push(field);
    if (i >= source.length) return fields;
    i++; // the colon
  }
}

function number(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ConfigError(`Redis token source: the ${what} must be a number ${min}-${max}`);
  }
  return Number(text);
}

/** Parses websockify's TokenRedis source. */
export function parseWebsockifyRedisSource(source: string): RedisLocation {
  const fields = splitFields(source.trim());
  if (fields.length > 5) {
    throw new ConfigError(
      'TokenRedis --token-source has too many fields: host[:port[:db[:password[:namespace]]]]',
    );
  }
  const [host = '', port = '', db = '', password = '', namespace = ''] = fields;
  return {
    host: host || '127.0.0.1',
    port: port ? number(port, 'port', 1, 65535) : 6379,
    db: db ? number(db, 'db', 0, 65535) : 0,
    username: undefined,
    password: password || undefined,
    namespace: namespace || undefined,
    tls: false,
    ca: undefined,
  };
}

/** Parses `redis://[user:pass@]host[:port][/db][?prefix=ns]`, or `rediss://...[&ca=FILE]` for TLS. */
export function parseRedisUrl(text: string): RedisLocation {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError('--tokens: the redis:// URL is not a valid URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError('--tokens: a Redis store URL starts with redis:// or rediss://');
  }
  for (const key of url.searchParams.keys()) {
    if (key !== 'prefix' && key !== 'ca') {
      throw new ConfigError(`--tokens: unknown Redis URL parameter "${key}" (known: prefix, ca)`);
    }
  }
  const ca = url.searchParams.get('ca') || undefined;
  if (ca && url.protocol !== 'rediss:') throw new ConfigError('--tokens: the ca parameter needs rediss://');
  const dbText = url.pathname.replace(/^\//, '');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host: host || '127.0.0.1',
    port: url.port ? number(url.port, 'port', 1, 65535) : 6379,
    db: dbText ? number(dbText, 'db', 0, 65535) : 0,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    namespace: url.searchParams.get('prefix') || undefined,
    tls: url.protocol === 'rediss:',
    ca,
  };
}

/** `host:port/db` (and the namespace) for log lines: no user, no password. */
export function describeRedisLocation(location: RedisLocation): string {
  const host = location.host.includes(':') ? `[${location.host}]` : location.host;
  const scheme = location.tls ? 'rediss' : 'redis';
  const ns = location.namespace ? ` namespace ${location.namespace}` : '';
  return `${scheme}://${host}:${location.port}/${location.db}${ns}`;
}
