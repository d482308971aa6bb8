/**
 * What every wstcp Redis connection shares (token store, channel store): connection options that fail
 * commands at once while Redis is down and reconnect with a back-off up to 2 s, the optional CA file,
 * waiting for the first connection without failing, quitting, and logging each outage once.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { ConfigError, describeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import type { RedisLocation } from './redis-source.js';

type Connection = Redis | Cluster;

/** Options for a connection to `location`; `connectTimeout` bounds connecting (commands are left unbounded). */
export function redisOptions(
  location: RedisLocation,
  ca: string | undefined,
  timeoutMs: number,
): RedisOptions {
  return {
    host: location.host,
    port: location.port,
    db: location.db,
    username: location.username,
    password: location.password,
    tls: location.tls ? { servername: isIP(location.host) ? undefined : location.host, ca } : undefined,
    connectTimeout: timeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000),
  };
}

/** The CA bundle of `location`, if it names one; a file that cannot be read is a ConfigError. */
export async function readRedisCa(location: RedisLocation, context = ''): Promise<string | undefined> {
  const file = location.ca;
  try {
    return file === undefined ? undefined : await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${context}Redis CA file ${file}: ${describeError(err)}`, { cause: err });
  }
}

/** Resolves when `redis` is ready or after `timeoutMs`, whichever comes first. */
export function waitReady(redis: Connection, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.on('ready', done);
  });
}

/** QUIT when connected (waiting at most 1 s for it), then disconnect. */
export async function quit(redis: Connection): Promise<void> {
  if (redis.status === 'ready') {
    const timer = new Promise((resolve) => setTimeout(resolve, 1000).unref());
    await Promise.race([redis.quit().catch(() => {}), timer]);
  }
  redis.disconnect();
}

export interface OutageEvents {
  readonly error: string;
  readonly down: string;
  readonly reconnected: string;
}

/** Logs each outage of a connection once: a warning when it goes, info when it is back. */
export class OutageLog {
  /** Whether the last state change logged was an outage. */
  down = false;
  /** Set before closing: the close that follows is no outage. */
  closing = false;

  constructor(
    redis: Connection,
    private readonly log: Logger,
    private readonly store: string,
    private readonly events: OutageEvents,
    private readonly onReady: () => void = () => {},
  ) {
    redis.on('ready', () => this.redisOnReady());
    redis.on('error', (err: Error) => this.redisOnError(err));
    redis.on('close', () => this.redisOnClose());
  }

  private redisOnReady(): void {
    if (this.down) this.log.info(this.events.reconnected, { store: this.store });
    this.down = false;
    this.onReady();
  }

  /** Errors while down are the reconnect attempts failing: the outage was logged once already. */
  private redisOnError(err: Error): void {
    const level = this.down ? 'debug' : 'warn';
    this.log[level](this.events.error, { store: this.store, error: describeError(err) });
  }

  private redisOnClose(): void {
    if (this.down || this.closing) return;
    this.down = true;
    this.log.warn(this.events.down, { store: this.store, reconnecting: true });
  }
}
