/**
 * TokenRedis: `GET namespace:token` on one shared connection. The connection reconnects by itself
 * (backing off up to 2 s); while it is down lookups fail at once with 503 instead of queueing, so a Redis
 * outage never holds handshakes open. Values are websockify's JSON `{"host": "h:p"}` or plain `h:p`.
 */
import { Redis } from 'ioredis';
import { AddressError } from '../address.js';
import { describeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import type { SocketTarget } from '../targets/registry.js';
import { targetFromJson } from './host-port.js';
import { OutageLog, quit, readRedisCa, redisOptions, waitReady } from './redis-client.js';
import { describeRedisLocation, type RedisLocation } from './redis-source.js';
import { parseStoredTarget } from './route-options.js';
import { StoreUnavailableError, type WritableTokenStore } from './store.js';
import { storedTargetText, websockifyTarget } from './token-file-format.js';

/** How `set` writes values: JSON is what every websockify version reads (0.10 reads nothing else). */
export type RedisValueFormat = 'json' | 'plain';

export interface RedisStoreOptions {
  readonly location: RedisLocation;
  readonly log: Logger;
  /** Bounds connecting and every command. */
  readonly timeoutMs: number;
  readonly valueFormat?: RedisValueFormat;
}

/** Parses a stored value; throws AddressError when it is neither format. */
export function parseRedisValue(value: string): SocketTarget {
  const text = value.trim();
  if (!text.startsWith('{')) return parseStoredTarget(text);
  return targetFromJson(text, 'the value starts with "{" but is not JSON');
}

/** Glob-escapes a namespace for SCAN MATCH. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * @example
 * const store = await RedisTokenStore.open({ location: parseRedisUrl('redis://127.0.0.1:6379/0'), log, timeoutMs: 5000 });
 * await store.lookup('desk1');
 */
export class RedisTokenStore implements WritableTokenStore {
  readonly description: string;
  private readonly client: Redis;
  private readonly options: RedisStoreOptions;
  private readonly outage: OutageLog;

  private constructor(options: RedisStoreOptions, ca: string | undefined) {
    const { location, timeoutMs } = options;
    this.options = options;
    this.description = `Redis ${describeRedisLocation(location)}`;
    this.client = new Redis({ ...redisOptions(location, ca, timeoutMs), commandTimeout: timeoutMs });
    this.outage = new OutageLog(this.client, options.log, this.description, {
      error: 'tokens.redis_error',
      down: 'tokens.redis_down',
      reconnected: 'tokens.redis_reconnected',
    });
  }

  /** Connects, waiting at most `timeoutMs` for the first connection; a Redis that is down is logged, not fatal. */
  static async open(options: RedisStoreOptions): Promise<RedisTokenStore> {
    const store = new RedisTokenStore(options, await readRedisCa(options.location));
    await waitReady(store.client, options.timeoutMs);
    if (store.client.status !== 'ready') {
      options.log.warn('tokens.redis_unavailable', { store: store.description, retrying: true });
      store.outage.down = true;
    }
    return store;
  }

  /** True while the connection is up (lookups are sent); false while connecting or reconnecting. */
  get connected(): boolean {
    return this.client.status === 'ready';
  }

  async lookup(token: string): Promise<SocketTarget | undefined> {
    const value = await this.command((c) => c.get(this.key(token)));
    if (value === null) return undefined;
    try {
      return parseRedisValue(value);
    } catch (err) {
      if (!(err instanceof AddressError)) throw err;
      throw new StoreUnavailableError(`${this.description}: a token's value is not a target: ${err.message}`);
    }
  }

  async set(token: string, target: SocketTarget): Promise<void> {
    const text = websockifyTarget(target);
    const field = target.kind === 'pool' ? 'targets' : 'host';
    const value =
      this.options.valueFormat === 'plain'
        ? storedTargetText(target)
        : JSON.stringify({ [field]: text, subprotocols: target.subprotocols });
    await this.command((c) => c.set(this.key(token), value));
  }

  async remove(token: string): Promise<boolean> {
    return (await this.command((c) => c.del(this.key(token)))) > 0;
  }

  /** Every key under the namespace (or the whole db) whose value is a target; other keys are skipped. */
  async list(): Promise<Array<{ token: string; target: SocketTarget }>> {
    const ns = this.options.location.namespace;
    const match = ns === undefined ? '*' : `${escapeGlob(ns)}:*`;
    const keys = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await this.command((c) => c.scan(cursor, 'MATCH', match, 'COUNT', 500));
      for (const key of batch) keys.add(key);
      cursor = next;
    } while (cursor !== '0');
    const out: Array<{ token: string; target: SocketTarget }> = [];
    for (const key of [...keys].sort()) {
      const token = ns === undefined ? key : key.slice(ns.length + 1);
      try {
        const target = await this.lookup(token);
        if (target) out.push({ token, target });
      } catch (err) {
        if (!(err instanceof StoreUnavailableError) || !this.connected) throw err;
      }
    }
    return out;
  }

  async close(): Promise<void> {
    this.outage.closing = true;
    await quit(this.client);
  }

  private key(token: string): string {
    const ns = this.options.location.namespace;
    return ns === undefined ? token : `${ns}:${token}`;
  }

  private async command<T>(run: (client: Redis) => Promise<T>): Promise<T> {
    if (this.client.status !== 'ready')
      throw new StoreUnavailableError(`${this.description} is not connected`);
    try {
      return await run(this.client);
    } catch (err) {
      throw new StoreUnavailableError(`${this.description}: ${describeError(err)}`, { cause: err });
    }
  }
}
