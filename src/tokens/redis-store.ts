/**
 * TokenRedis: `GET namespace:token` on one shared connection. The connection reconnects by itself
 * (backing off up to 2 s); while it is down lookups fail at once with 503 instead of queueing, so a Redis
 * outage never holds handshakes open. Values are websockify's JSON `{"host": "h:p"}` or plain `h:p`.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { Redis } from 'ioredis';
import { AddressError } from '../address.js';
import { ConfigError, describeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import type { SocketTarget } from '../targets/registry.js';
import { targetFromJson } from './host-port.js';
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
  /** Whether the last state change logged was an outage, so that each outage is logged once. */
  private down = false;
  private closing = false;

  private constructor(options: RedisStoreOptions, ca: string | undefined) {
    const { location, timeoutMs } = options;
    this.options = options;
    this.description = `Redis ${describeRedisLocation(location)}`;
    this.client = new Redis({
      host: location.host,
      port: location.port,
      db: location.db,
      username: location.username,
      password: location.password,
      tls: location.tls ? { servername: isIP(location.host) ? undefined : location.host, ca } : undefined,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000),
    });
    this.client.on('ready', () => this.clientOnReady());
    this.client.on('error', (err) => this.clientOnError(err));
    this.client.on('close', () => this.clientOnClose());
  }

  /** Connects, waiting at most `timeoutMs` for the first connection; a Redis that is down is logged, not fatal. */
  static async open(options: RedisStoreOptions): Promise<RedisTokenStore> {
    const file = options.location.ca;
    let ca: string | undefined;
    try {
      ca = file === undefined ? undefined : await readFile(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`Redis CA file ${file}: ${describeError(err)}`, { cause: err });
    }
    const store = new RedisTokenStore(options, ca);
    await store.waitReady(options.timeoutMs);
    if (store.client.status !== 'ready') {
      options.log.warn('tokens.redis_unavailable', { store: store.description, retrying: true });
      store.down = true;
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
    this.closing = true;
    if (this.client.status === 'ready') {
      const timer = new Promise((resolve) => setTimeout(resolve, 1000).unref());
      await Promise.race([this.client.quit().catch(() => {}), timer]);
    }
    this.client.disconnect();
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

  private waitReady(timeoutMs: number): Promise<void> {
    if (this.client.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.client.on('ready', done);
    });
  }

  private clientOnReady(): void {
    if (this.down) this.options.log.info('tokens.redis_reconnected', { store: this.description });
    this.down = false;
  }

  /** Errors while down are the reconnect attempts failing: the outage was logged once already. */
  private clientOnError(err: Error): void {
    const level = this.down ? 'debug' : 'warn';
    this.options.log[level]('tokens.redis_error', { store: this.description, error: describeError(err) });
  }

  private clientOnClose(): void {
    if (this.down || this.closing) return;
    this.down = true;
    this.options.log.warn('tokens.redis_down', { store: this.description, reconnecting: true });
  }
}
