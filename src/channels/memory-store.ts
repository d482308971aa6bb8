/**
 * Channels in this process's memory. Bounded: at most `maxChannels` channels, each buffer capped in
 * messages and bytes; a sweep drops expired messages and forgets channels nobody has used for a ttl.
 * A deleted channel stays as an empty stub (answering 200 with its last id, as Nchan does) until swept.
 */
import { refuse } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { type BufferLimits, MessageBuffer } from './buffer.js';
import { LocalHub } from './hub.js';
import type { ChannelMessage } from './message.js';
import { type MessageId, nextMessageId } from './message-id.js';
import type {
  ChannelInfo,
  ChannelListener,
  ChannelStats,
  ChannelStore,
  Published,
  PublishInput,
} from './store.js';

export interface MemoryStoreOptions extends BufferLimits {
  readonly maxChannels: number;
  readonly log: Logger;
  /** How often expired messages and idle channels are swept. */
  readonly sweepMs?: number;
}

/** A channel without messages or subscribers is forgotten after this long (at least), ttl or not. */
const IDLE_CHANNEL_MS = 60_000;

interface ChannelState {
  readonly buffer: MessageBuffer;
  lastId: MessageId | undefined;
  /** Unix seconds; 0: never. */
  lastRequested: number;
  lastUsed: number;
}

export class MemoryChannelStore implements ChannelStore {
  readonly description = 'memory';
  private readonly channels = new Map<string, ChannelState>();
  private readonly hub: LocalHub;
  private readonly sweeper: NodeJS.Timeout;
  private published = 0;

  constructor(private readonly options: MemoryStoreOptions) {
    this.hub = new LocalHub(options.log);
    const sweepMs = options.sweepMs ?? Math.min(10_000, Math.max(1000, options.ttlMs || 10_000));
    this.sweeper = setInterval(() => this.sweep(Date.now()), sweepMs);
    this.sweeper.unref();
  }

  async publish(channel: string, input: PublishInput): Promise<Published> {
    if (input.data.length > this.options.maxBytes) {
      throw refuse(
        'CHANNEL_MESSAGE_TOO_LARGE',
        `the message is larger than a channel holds (${this.options.maxBytes} bytes)`,
      );
    }
    const state = this.state(channel, true) as ChannelState;
    const now = Date.now();
    const message: ChannelMessage = {
      id: nextMessageId(state.lastId, Math.floor(now / 1000)),
      data: input.data,
      contentType: input.contentType,
      event: input.event,
      publishedAt: now,
    };
    state.lastId = message.id;
    state.lastUsed = now;
    state.buffer.expire(now);
    state.buffer.push(message);
    this.published++;
    const handedOut = this.hub.deliver(channel, message);
    const info = this.infoOf(channel, state);
    if (handedOut) await handedOut;
    return { message, info };
  }

  async info(channel: string): Promise<ChannelInfo | undefined> {
    const state = this.channels.get(channel);
    if (!state) return undefined;
    state.buffer.expire(Date.now());
    return this.infoOf(channel, state);
  }

  async delete(channel: string): Promise<ChannelInfo | undefined> {
    const state = this.channels.get(channel);
    if (!state) return undefined;
    state.buffer.expire(Date.now());
    const before = this.infoOf(channel, state);
    state.buffer.clear();
    this.hub.deleted(channel);
    this.options.log.info('channel.deleted', { channel, subscribers: before.subscribers });
    return before;
  }

  async subscribe(channel: string, listener: ChannelListener): Promise<readonly ChannelMessage[]> {
    const state = this.state(channel, true) as ChannelState;
    const now = Date.now();
    state.lastRequested = Math.floor(now / 1000);
    state.lastUsed = now;
    state.buffer.expire(now);
    this.hub.add(channel, listener);
    return state.buffer.all().slice();
  }

  unsubscribe(channel: string, listener: ChannelListener): void {
    this.hub.remove(channel, listener);
    const state = this.channels.get(channel);
    if (state) state.lastUsed = Date.now();
  }

  async messages(channel: string): Promise<readonly ChannelMessage[]> {
    const state = this.channels.get(channel);
    if (!state) return [];
    const now = Date.now();
    state.lastRequested = Math.floor(now / 1000);
    state.buffer.expire(now);
    return state.buffer.all().slice();
  }

  stats(): ChannelStats {
    return {
      channels: this.channels.size,
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
    clearInterval(this.sweeper);
    this.hub.close();
  }

  private state(channel: string, create: boolean): ChannelState | undefined {
    let state = this.channels.get(channel);
    if (state || !create) return state;
    if (this.channels.size >= this.options.maxChannels) {
      this.sweep(Date.now());
      if (this.channels.size >= this.options.maxChannels) {
        throw refuse('CHANNEL_LIMIT', `too many channels (at most ${this.options.maxChannels})`);
      }
    }
    state = {
      buffer: new MessageBuffer(this.options),
      lastId: undefined,
      lastRequested: 0,
      lastUsed: Date.now(),
    };
    this.channels.set(channel, state);
    this.options.log.debug('channel.created', { channel });
    return state;
  }

  private infoOf(channel: string, state: ChannelState): ChannelInfo {
    return {
      messages: state.buffer.length,
      subscribers: this.hub.count(channel),
      lastRequested: state.lastRequested,
      lastId: state.lastId,
    };
  }

  private sweep(now: number): void {
    const idleMs = Math.max(IDLE_CHANNEL_MS, this.options.ttlMs);
    for (const [channel, state] of this.channels) {
      state.buffer.expire(now);
      if (state.buffer.length === 0 && this.hub.count(channel) === 0 && now - state.lastUsed >= idleMs) {
        this.channels.delete(channel);
        this.options.log.debug('channel.expired', { channel });
      }
    }
  }
}
