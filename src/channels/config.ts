/**
 * The channel flags -> one frozen ChannelConfig, every value checked here with a message naming the flag.
 */

import type { BlockList } from 'node:net';
import { basicAuthCredentials } from '../auth/basic.js';
import type { CredentialCheck } from '../auth/htpasswd.js';
import { ConfigError } from '../errors.js';
import { DEFAULT_PASS_ENV } from '../targets/command/environment.js';
import { parseRedisUrl, type RedisLocation } from '../tokens/redis-source.js';
import type { FirstMessage } from './buffer.js';
import { type FeedMode, type FeedSpec, parseFeedSpec } from './feed.js';
import { parsePublishAllow } from './publish-gate.js';
import type { SlowPolicy } from './ws-subscriber.js';

export interface ChannelConfig {
  /** The --channels value: a listen address, or '' for the listen positional. */
  readonly listen: string;
  readonly pubPath: string;
  readonly subPath: string;
  readonly bufferLength: number;
  readonly ttlMs: number;
  readonly first: FirstMessage;
  readonly slow: SlowPolicy;
  readonly queueBytes: number;
  /** --channel-nodelay: subscriber sockets send each message at once instead of coalescing (Nagle). */
  readonly noDelay: boolean;
  readonly maxChannels: number;
  readonly maxBytes: number;
  readonly publishAllow: BlockList | undefined;
  readonly publishCredentials: CredentialCheck | undefined;
  readonly feeds: readonly FeedSpec[];
  readonly feedMode: FeedMode;
  /** Command feeds (`cmd:`): --pass-env and --close-ms, as for --cmd. */
  readonly feedPrograms: { readonly passEnv: string; readonly closeMs: number };
  readonly store: RedisLocation | undefined;
  /** `?cluster=1` on the store URL: a Redis Cluster (the URL names one of its nodes). */
  readonly storeCluster: boolean;
}

/** The raw values as yargs gives them (see options.ts). */
export interface RawChannelOptions {
  readonly channels?: string | undefined;
  readonly 'channel-pub-path'?: string;
  readonly 'channel-sub-path'?: string;
  readonly 'channel-buffer'?: number;
  readonly 'channel-ttl'?: number;
  readonly 'channel-first'?: string;
  readonly 'channel-slow'?: string;
  readonly 'channel-nodelay'?: boolean;
  readonly 'channel-queue'?: number;
  readonly 'channel-max-channels'?: number;
  readonly 'channel-max-bytes'?: number;
  readonly 'publish-allow'?: string | readonly string[];
  readonly 'publish-auth'?: string;
  readonly 'channel-feed'?: string | readonly string[];
  readonly 'channel-feed-mode'?: string;
  readonly 'channel-store'?: string;
  readonly 'pass-env'?: string;
  readonly 'close-ms'?: number;
}

function whole(value: number | undefined, fallback: number, flag: string, min: number, max: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`--${flag} must be a whole number from ${min} to ${max}`);
  }
  return n;
}

/**
 * An endpoint path in the form requests are matched in (endpoint-path.ts): slashes merged, no trailing
 * one. A `.` or `..` segment could never match (request paths have them resolved): refused.
 */
function path(value: string | undefined, fallback: string, flag: string): string {
  const text = (value ?? fallback).replace(/\/{2,}/g, '/').replace(/\/+$/, '');
  if (!text.startsWith('/') || /[?#\s]/.test(text) || /\/\.\.?(\/|$)/.test(text)) {
    throw new ConfigError(
      `--${flag} must be a path starting with "/", without "." or ".." segments (e.g. ${fallback})`,
    );
  }
  return text;
}

export function parseFirstMessage(text: string): FirstMessage {
  if (text === 'oldest' || text === 'newest') return text;
  if (/^-?\d{1,6}$/.test(text)) return Number(text);
  throw new ConfigError('--channel-first must be oldest, newest, N or -N');
}

/** Takes `cluster=1` out of a store URL (the token store's parser knows only its own parameters). */
function withoutClusterFlag(text: string): { url: string; cluster: boolean } {
  const match = /([?&])cluster=(1|true|yes)(&|$)/.exec(text);
  if (!match) return { url: text, cluster: false };
  const url =
    text.slice(0, match.index) +
    (match[3] === '&' ? match[1] : '') +
    text.slice(match.index + match[0].length);
  return { url, cluster: true };
}

/** --pass-env and --close-ms for command feeds, checked as config.ts checks them for --cmd. */
function feedPrograms(raw: RawChannelOptions): ChannelConfig['feedPrograms'] {
  const passEnv = raw['pass-env'] ?? DEFAULT_PASS_ENV;
  const closeMs = raw['close-ms'] ?? 0;
  if (typeof passEnv !== 'string') throw new ConfigError('--pass-env was given more than once');
  if (typeof closeMs !== 'number' || !Number.isFinite(closeMs) || closeMs < 0)
    throw new ConfigError('--close-ms must be a number of 0 or more');
  return { passEnv, closeMs };
}

/** undefined when --channels is not given. */
export function buildChannelConfig(raw: RawChannelOptions): ChannelConfig | undefined {
  if (raw.channels === undefined) {
    const stray = (['channel-feed', 'channel-store', 'publish-allow', 'publish-auth'] as const).find(
      (flag) => raw[flag] !== undefined,
    );
    if (stray) throw new ConfigError(`--${stray} needs --channels`);
    return undefined;
  }
  const pubPath = path(raw['channel-pub-path'], '/pub', 'channel-pub-path');
  const subPath = path(raw['channel-sub-path'], '/sub', 'channel-sub-path');
  if (pubPath === subPath || pubPath.startsWith(`${subPath}/`) || subPath.startsWith(`${pubPath}/`)) {
    throw new ConfigError('--channel-pub-path and --channel-sub-path must not overlap');
  }
  const slow = raw['channel-slow'] ?? 'close';
  if (slow !== 'close' && slow !== 'skip') throw new ConfigError('--channel-slow must be close or skip');
  const feedMode = raw['channel-feed-mode'] ?? 'lines';
  if (feedMode !== 'lines' && feedMode !== 'chunks') {
    throw new ConfigError('--channel-feed-mode must be lines or chunks');
  }
  let store: RedisLocation | undefined;
  let storeCluster = false;
  if (raw['channel-store'] !== undefined) {
    try {
      const { url, cluster } = withoutClusterFlag(raw['channel-store']);
      storeCluster = cluster;
      store = parseRedisUrl(url);
    } catch (err) {
      // The token store's parser names its own flag; the message never holds the URL (a password).
      if (err instanceof ConfigError)
        throw new ConfigError(err.message.replace('--tokens', '--channel-store'));
      throw err;
    }
  }
  let publishCredentials: CredentialCheck | undefined;
  if (raw['publish-auth'] !== undefined) {
    try {
      publishCredentials = basicAuthCredentials(raw['publish-auth']);
    } catch (err) {
      if (err instanceof ConfigError)
        throw new ConfigError(err.message.replace('--basic-auth', '--publish-auth'));
      throw err;
    }
  }
  const feeds = [raw['channel-feed'] ?? []].flat().map(parseFeedSpec);
  const config: ChannelConfig = {
    listen: raw.channels,
    pubPath,
    subPath,
    bufferLength: whole(raw['channel-buffer'], 10, 'channel-buffer', 0, 100_000),
    ttlMs: whole(raw['channel-ttl'], 3600, 'channel-ttl', 0, 10 * 365 * 86400) * 1000,
    first: parseFirstMessage(raw['channel-first'] ?? 'oldest'),
    slow,
    queueBytes: whole(raw['channel-queue'], 1024, 'channel-queue', 16, 1024 * 1024) * 1024,
    noDelay: raw['channel-nodelay'] === true,
    maxChannels: whole(raw['channel-max-channels'], 10_000, 'channel-max-channels', 1, 10_000_000),
    maxBytes: whole(raw['channel-max-bytes'], 16, 'channel-max-bytes', 1, 4096) * 1024 * 1024,
    publishAllow: parsePublishAllow([raw['publish-allow'] ?? []].flat()),
    publishCredentials,
    feeds,
    feedMode,
    feedPrograms: feedPrograms(raw),
    store,
    storeCluster,
  };
  return Object.freeze(config);
}
