/**
 * Channels shared through Redis by every wstcp pointed at it (--channel-store redis://...): a message
 * published on any instance reaches the subscribers of all of them (Redis pub/sub, one SUBSCRIBE per
 * channel per instance), the buffer lives in Redis (replay from any instance), and the info counts
 * subscribers across instances (each instance keeps its own count there, refreshed while it lives).
 *
 * Two connections: commands, and one in subscriber mode. Both reconnect by themselves; while the command
 * connection is down publishing and subscribing fail at once (503), while subscribers already connected
 * stay. When the subscriber connection comes back, what was published meanwhile is fetched from the
 * buffer and delivered, so a short outage loses nothing the buffer still holds.
 */
import { randomUUID } from 'node:crypto';
import { describeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { OutageLog, quit, readRedisCa, redisOptions, waitReady } from '../tokens/redis-client.js';
import { describeRedisLocation, type RedisLocation } from '../tokens/redis-source.js';
import { LocalHub } from './hub.js';
import type { ChannelMessage } from './message.js';
import { compareMessageIds, type MessageId } from './message-id.js';
import { type Connection, connect } from './redis-connection.js';
import { decodeEntry, encodePayload } from './redis-entry.js';
import { COUNT_REFRESH_MS, DELETE, INFO, PUBLISH, SUBSCRIBE } from './redis-scripts.js';
import type {
  ChannelInfo,
  ChannelListener,
  ChannelStats,
  ChannelStore,
  Published,
  PublishInput,
} from './store.js';

export interface RedisChannelStoreOptions {
  readonly location: RedisLocation;
  /** A Redis Cluster reached through `location` (one node; the others are discovered). */
  readonly cluster?: boolean;
  readonly log: Logger;
  readonly maxMessages: number;
  readonly ttlMs: number;
  /** Bounds connecting and every command. */
  readonly timeoutMs: number;
}

/** The scripts, as ioredis defines them (EVALSHA, loading the script when Redis does not have it). */
interface ScriptClient {
  wstcpPublish(
    m: string,
    i: string,
    s: string,
    payload: Buffer,
    max: number,
    ttl: number,
    ch: string,
  ): Promise<number[]>;
  wstcpInfo(m: string, i: string, s: string, ttl: number): Promise<number[] | null>;
  wstcpDelete(m: string, i: string, s: string, ttl: number, ch: string): Promise<number[] | null>;
  wstcpSubscribeBuffer(
    m: string,
    i: string,
    s: string,
    instance: string,
    count: number,
    ttl: number,
    request: string,
  ): Promise<Buffer[]>;
}

/** Thrown when Redis cannot be used now: the endpoints answer 503. */
export class ChannelStoreUnavailable extends Error {
  readonly code = 'WSTCP_STORE_UNAVAILABLE';
}

function infoFrom(values: number[]): ChannelInfo {
  const [messages = 0, subscribers = 0, requested = 0, time = -1, tag = -1] = values;
  return { messages, subscribers, lastRequested: requested, lastId: time >= 0 ? { time, tag } : undefined };
}

export class RedisChannelStore implements ChannelStore {
  readonly description: string;
  private readonly client: Connection;
  private readonly subscriber: Connection;
  private readonly hub: LocalHub;
  /** The newest id delivered here per channel: pub/sub and gap-filling never deliver a message twice. */
  private readonly lastSeen = new Map<string, MessageId>();
  /** SUBSCRIBE commands under way, by channel. */
  private readonly subscribing = new Map<string, Promise<unknown>>();
  private readonly instance = randomUUID();
  private readonly prefix: string;
  private readonly refresher: NodeJS.Timeout;
  private published = 0;
  private readonly outage: OutageLog;
  /** The subscriber connection was lost once: its next 'ready' fills the gap. */
  private resubscribing = false;

  private constructor(
    private readonly options: RedisChannelStoreOptions,
    ca: string | undefined,
  ) {
    const { location, timeoutMs } = options;
    this.hub = new LocalHub(options.log);
    this.description = `Redis ${describeRedisLocation(location)}`;
    this.prefix = location.namespace ?? 'wstcp';
    const connection = redisOptions(location, ca, timeoutMs);
    this.client = connect(options.cluster === true, { ...connection, commandTimeout: timeoutMs });
    this.subscriber = connect(options.cluster === true, connection);
    this.client.defineCommand('wstcpPublish', { numberOfKeys: 3, lua: PUBLISH });
    this.client.defineCommand('wstcpInfo', { numberOfKeys: 3, lua: INFO });
    this.client.defineCommand('wstcpDelete', { numberOfKeys: 3, lua: DELETE });
    this.client.defineCommand('wstcpSubscribe', { numberOfKeys: 3, lua: SUBSCRIBE });
    this.outage = new OutageLog(
      this.client,
      options.log,
      this.description,
      { error: 'channel.store_error', down: 'channel.store_down', reconnected: 'channel.store_reconnected' },
      () => this.refreshCounts(),
    );
    this.subscriber.on('error', () => {});
    this.subscriber.on('close', () => {
      this.resubscribing = true;
    });
    this.subscriber.on('ready', () => this.subscriberOnReady());
    this.subscriber.on('messageBuffer', (channel: Buffer, payload: Buffer) =>
      this.onPubsub(channel, payload),
    );
    this.refresher = setInterval(() => this.refreshCounts(), COUNT_REFRESH_MS);
    this.refresher.unref();
  }

  /** Connects, waiting at most `timeoutMs`; a Redis that is down is logged and retried, not fatal. */
  static async open(options: RedisChannelStoreOptions): Promise<RedisChannelStore> {
    const store = new RedisChannelStore(options, await readRedisCa(options.location, '--channel-store: '));
    await Promise.all([
      waitReady(store.client, options.timeoutMs),
      waitReady(store.subscriber, options.timeoutMs),
    ]);
    if (store.client.status !== 'ready') {
      options.log.warn('channel.store_down', { store: store.description, reconnecting: true });
      store.outage.down = true;
    }
    return store;
  }

  async publish(channel: string, input: PublishInput): Promise<Published> {
    const payload = encodePayload(input.data, input.contentType, input.event);
    const k = this.keys(channel);
    const [time = 0, tag = 0, ms = 0, messages = 0, subscribers = 0, requested = 0] = await this.command(
      (c) => c.wstcpPublish(k.m, k.i, k.s, payload, this.options.maxMessages, this.options.ttlMs, k.channel),
    );
    this.published++;
    const id = { time, tag };
    return {
      message: { id, data: input.data, contentType: input.contentType, event: input.event, publishedAt: ms },
      info: { messages, subscribers, lastRequested: requested, lastId: id },
    };
  }

  async info(channel: string): Promise<ChannelInfo | undefined> {
    const k = this.keys(channel);
    const values = await this.command((c) => c.wstcpInfo(k.m, k.i, k.s, this.options.ttlMs));
    return values ? infoFrom(values) : undefined;
  }

  async delete(channel: string): Promise<ChannelInfo | undefined> {
    const k = this.keys(channel);
    const values = await this.command((c) => c.wstcpDelete(k.m, k.i, k.s, this.options.ttlMs, k.channel));
    if (!values) return undefined;
    this.options.log.info('channel.deleted', { channel, subscribers: values[1] ?? 0 });
    return infoFrom(values);
  }

  async subscribe(channel: string, listener: ChannelListener): Promise<readonly ChannelMessage[]> {
    const first = this.hub.add(channel, listener);
    const k = this.keys(channel);
    try {
      // Every subscriber waits until pub/sub is on, so none reads the buffer before live messages flow.
      if (first) {
        const subscribing = this.subscriber
          .subscribe(k.channel)
          .finally(() => this.subscribing.delete(channel));
        this.subscribing.set(channel, subscribing);
      }
      await this.subscribing.get(channel);
      const entries = await this.command((c) =>
        c.wstcpSubscribeBuffer(
          k.m,
          k.i,
          k.s,
          this.instance,
          this.hub.count(channel),
          this.options.ttlMs,
          '1',
        ),
      );
      // lastSeen is not moved here: a message read from the buffer may still be on its way to the
      // subscribers already here, over pub/sub. Each subscription drops what it has already seen.
      return this.decodeFresh(entries);
    } catch (err) {
      this.unsubscribe(channel, listener);
      throw err;
    }
  }

  unsubscribe(channel: string, listener: ChannelListener): void {
    if (!this.hub.remove(channel, listener) && this.hub.count(channel) === 0) return;
    this.writeCount(channel);
    if (this.hub.count(channel) > 0) return;
    this.lastSeen.delete(channel);
    this.subscriber.unsubscribe(this.keys(channel).channel).catch(() => {});
  }

  async messages(channel: string): Promise<readonly ChannelMessage[]> {
    const entries = await this.command((c) => c.lrangeBuffer(this.keys(channel).m, 0, -1));
    return this.decodeFresh(entries);
  }

  stats(): ChannelStats {
    return {
      channels: this.hub.channelCount,
      subscribers: this.hub.total,
      published: this.published,
      delivered: this.hub.delivered,
      passes: this.hub.passes,
    };
  }

  flush(): void {
    this.hub.flush();
  }

  async close(): Promise<void> {
    this.outage.closing = true;
    clearInterval(this.refresher);
    this.hub.close();
    await Promise.all([quit(this.client), quit(this.subscriber)]);
  }

  private keys(channel: string): { m: string; i: string; s: string; channel: string } {
    const base = `${this.prefix}:{${channel}}`;
    return { m: `${base}:m`, i: `${base}:i`, s: `${base}:s`, channel: base };
  }

  /** The channel id of a pub/sub channel name (`prefix:{id}`). */
  private channelOf(name: string): string | undefined {
    const start = `${this.prefix}:{`;
    return name.startsWith(start) && name.endsWith('}') ? name.slice(start.length, -1) : undefined;
  }

  private decodeFresh(entries: Buffer[]): ChannelMessage[] {
    const oldest = this.options.ttlMs > 0 ? Date.now() - this.options.ttlMs : 0;
    const messages: ChannelMessage[] = [];
    for (const entry of entries) {
      const message = decodeEntry(entry);
      if (message && message.publishedAt > oldest) messages.push(message);
    }
    return messages;
  }

  private onPubsub(name: Buffer, payload: Buffer): void {
    const channel = this.channelOf(name.toString('utf8'));
    if (channel === undefined) return;
    if (payload.length === 1 && payload[0] === 0x64) {
      this.lastSeen.delete(channel);
      this.hub.deleted(channel);
      this.subscriber.unsubscribe(name.toString('utf8')).catch(() => {});
      return;
    }
    const message = decodeEntry(payload);
    if (message) this.deliver(channel, message);
  }

  private deliver(channel: string, message: ChannelMessage): void {
    const seen = this.lastSeen.get(channel);
    if (seen && compareMessageIds(message.id, seen) <= 0) return;
    this.lastSeen.set(channel, message.id);
    // Its publisher was answered by Redis: nothing here waits for the pass.
    void this.hub.deliver(channel, message);
  }

  /** Back after losing the subscriber connection: deliver what was published meanwhile. */
  private subscriberOnReady(): void {
    if (!this.resubscribing || this.outage.closing) return;
    this.resubscribing = false;
    for (const channel of [...this.hub.channels()]) {
      this.messages(channel)
        .then((messages) => {
          for (const message of messages) this.deliver(channel, message);
        })
        .catch(() => {});
    }
  }

  /** Keeps this instance's counts standing (they expire, so a dead instance's stop counting). */
  private refreshCounts(): void {
    if (this.client.status !== 'ready') return;
    for (const channel of this.hub.channels()) this.writeCount(channel);
  }

  private writeCount(channel: string): void {
    if (this.client.status !== 'ready') return;
    const k = this.keys(channel);
    const count = this.hub.count(channel);
    const write =
      count > 0
        ? this.client.hset(k.s, this.instance, `${count}:${Math.floor(Date.now() / 1000) + 15}`)
        : this.client.hdel(k.s, this.instance);
    write.catch(() => {});
  }

  private async command<T>(run: (client: ScriptClient & Connection) => Promise<T>): Promise<T> {
    if (this.client.status !== 'ready')
      throw new ChannelStoreUnavailable(`${this.description} is not connected`);
    try {
      return await run(this.client as ScriptClient & Connection);
    } catch (err) {
      throw new ChannelStoreUnavailable(`${this.description}: ${describeError(err)}`, { cause: err });
    }
  }
}
