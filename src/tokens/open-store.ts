/**
 * TokenConfig -> the TokenStore it names. websockify's plugin names with their exact source formats, and
 * the native `--tokens SPEC` forms:
 *
 *   file:PATH        TokenFile (a token file or a directory of them, reloaded on change)
 *   dir:PATH         TokenFileName (a directory with one file per token)
 *   sockets:PATH     UnixDomainSocketDirectory
 *   redis://[user:pass@]host:port/db?prefix=ns, rediss://...   TokenRedis (keys `ns:token`)
 *   http(s)://...{token}...                                   token API, plain `host:port` or JSON answers
 *   jwt:KEYFILE      JWTTokenApi
 */
import { stat } from 'node:fs/promises';
import type { TokenConfig } from '../config/config.js';
import { ConfigError, describeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { type ApiBodyFormat, TokenApiStore } from './api-store.js';
import { TokenFileStore } from './file-store.js';
import { JwtTokenStore } from './jwt-store.js';
import { TokenFileNameStore } from './name-dir-store.js';
import { parseRedisUrl, parseWebsockifyRedisSource, type RedisLocation } from './redis-source.js';
import { RedisTokenStore, type RedisValueFormat } from './redis-store.js';
import type { TokenStore } from './store.js';
import { UnixSocketDirStore } from './unix-dir-store.js';

export interface OpenStoreOptions {
  /** Reload file stores on change (default true; `wstcp tokens` turns it off). */
  readonly watch?: boolean;
  /** The value format `set` writes to Redis (default json). */
  readonly redisValueFormat?: RedisValueFormat;
}

/** One store kind with its source, after websockify names and native specs are told apart. */
type StoreSpec =
  | { kind: 'file' | 'dir' | 'sockets' | 'jwt'; path: string }
  | { kind: 'api'; url: string; format: ApiBodyFormat }
  | { kind: 'redis'; location: RedisLocation };

export const NATIVE_FORMS =
  'file:PATH, dir:PATH, sockets:PATH, redis://..., rediss://..., http(s)://...{token}, jwt:KEYFILE';

function nativeSpec(spec: string): StoreSpec {
  const colon = spec.indexOf(':');
  const scheme = colon < 0 ? '' : spec.slice(0, colon);
  const rest = spec.slice(colon + 1);
  switch (scheme) {
    case 'file':
    case 'dir':
    case 'sockets':
    case 'jwt':
      if (!rest)
        throw new ConfigError(`--tokens ${scheme}: needs a path, e.g. --tokens ${scheme}:/etc/wstcp/tokens`);
      return { kind: scheme, path: rest };
    case 'redis':
    case 'rediss':
      return { kind: 'redis', location: parseRedisUrl(spec) };
    case 'http':
    case 'https':
      if (!spec.includes('{token}'))
        throw new ConfigError('--tokens: an API URL needs {token} where the token goes');
      return { kind: 'api', url: spec, format: 'auto' };
    default:
      throw new ConfigError(`--tokens: unknown store "${spec.slice(0, 40)}" (forms: ${NATIVE_FORMS})`);
  }
}

/** Maps a TokenConfig (websockify plugin or native spec) to the store it names. */
export function storeSpec(config: Pick<TokenConfig, 'plugin' | 'source'>): StoreSpec {
  const { plugin, source } = config;
  switch (plugin) {
    case 'native':
      return nativeSpec(source);
    case 'TokenFile':
    case 'ReadOnlyTokenFile':
      return { kind: 'file', path: source };
    case 'TokenFileName':
      return { kind: 'dir', path: source };
    case 'UnixDomainSocketDirectory':
      return { kind: 'sockets', path: source };
    case 'JWTTokenApi':
      return { kind: 'jwt', path: source };
    case 'BaseTokenAPI':
      return { kind: 'api', url: source, format: 'text' };
    case 'JSONTokenApi':
      return { kind: 'api', url: source, format: 'json' };
    case 'TokenRedis':
      return { kind: 'redis', location: parseWebsockifyRedisSource(source) };
    default:
      throw new ConfigError(`unknown token plugin "${plugin}"`);
  }
}

async function requireDirectory(path: string, what: string): Promise<void> {
  try {
    if ((await stat(path)).isDirectory()) return;
  } catch (err) {
    throw new ConfigError(`${what} ${path}: ${describeError(err)}`);
  }
  throw new ConfigError(`${what} ${path} is not a directory`);
}

/**
 * Opens the store a TokenConfig names. Startup problems (a bad token file, a missing key or directory)
 * are ConfigErrors; a Redis that is down is not: it is retried in the background and answers 503 meanwhile.
 */
export async function openTokenStore(
  config: Pick<TokenConfig, 'plugin' | 'source' | 'lookupTimeoutMs'>,
  log: Logger,
  options: OpenStoreOptions = {},
): Promise<TokenStore> {
  const spec = storeSpec(config);
  switch (spec.kind) {
    case 'file':
      return TokenFileStore.open({ source: spec.path, log, watch: options.watch ?? true });
    case 'dir':
      await requireDirectory(spec.path, 'token directory');
      return new TokenFileNameStore(spec.path);
    case 'sockets':
      await requireDirectory(spec.path, 'unix socket directory');
      return new UnixSocketDirStore(spec.path);
    case 'jwt':
      return JwtTokenStore.open(spec.path);
    case 'api':
      return new TokenApiStore({ url: spec.url, format: spec.format, timeoutMs: config.lookupTimeoutMs });
    case 'redis':
      return RedisTokenStore.open({
        location: spec.location,
        log,
        timeoutMs: config.lookupTimeoutMs,
        valueFormat: options.redisValueFormat ?? 'json',
      });
  }
}
