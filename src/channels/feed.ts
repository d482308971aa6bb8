/**
 * A feed (--channel-feed ID=TARGET): one connection to a TCP or unix-socket target whose output is
 * published to channel ID, line by line (a line is published without its `\n` or `\r\n`) or chunk by
 * chunk as read (--channel-feed-mode). One log tail or market feed, any number of subscribers.
 *
 * The feed reconnects with backoff (100 ms doubling to 5 s, reset once a connection has lasted) whenever
 * the target ends, refuses or fails. Publishes run in order; the socket is paused while too many wait,
 * so a slow store slows the feed rather than growing memory. A line longer than the limit is published
 * in pieces of at most that size.
 */
import { connect, type Socket } from 'node:net';
import { AddressError } from '../address.js';
import { ConfigError, describeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { formatTarget, parseSocketTarget, type SocketTarget } from '../targets/registry.js';
import type { ChannelStore } from './store.js';

export type FeedMode = 'lines' | 'chunks';

export interface FeedSpec {
  readonly channel: string;
  readonly target: FeedTarget;
}

export interface FeedOptions extends FeedSpec {
  readonly mode: FeedMode;
  readonly store: ChannelStore;
  readonly log: Logger;
  /** The longest line (and message) published. */
  readonly maxMessageBytes: number;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;
/** A connection that lasted this long resets the backoff. */
const STABLE_MS = 5000;
/** Publishes waiting before the socket is paused. */
const MAX_PENDING = 64;

/** A feed keeps one connection: to one TCP or unix-socket target (a pool would pick a member per session). */
type FeedTarget = Exclude<SocketTarget, { readonly kind: 'pool' }>;

/** Parses `ID=host:port` or `ID=unix_socket:/path`. */
export function parseFeedSpec(text: string): FeedSpec {
  const eq = text.indexOf('=');
  if (eq <= 0)
    throw new ConfigError(`--channel-feed: expected ID=TARGET (e.g. ticks=127.0.0.1:9000), got "${text}"`);
  const channel = text.slice(0, eq);
  if (channel.includes(',')) throw new ConfigError('--channel-feed: a channel id must not contain ","');
  try {
    const target = parseSocketTarget(text.slice(eq + 1));
    if (target.kind === 'pool')
      throw new ConfigError(
        `--channel-feed ${channel}: a feed connects to one target, not a pool (${formatTarget(target)})`,
      );
    return { channel, target };
  } catch (err) {
    if (err instanceof AddressError) throw new ConfigError(`--channel-feed ${channel}: ${err.message}`);
    throw err;
  }
}

export class ChannelFeed {
  private socket: Socket | undefined;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private connectedAt = 0;
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private pending = 0;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  published = 0;
  failed = 0;

  constructor(private readonly options: FeedOptions) {}

  start(): void {
    if (this.closed) return;
    const { target } = this.options;
    const socket = target.kind === 'unix' ? connect(target.path) : connect(target.port, target.host);
    this.socket = socket;
    socket.on('connect', () => this.socketOnConnect());
    socket.on('data', (chunk: Buffer) => this.socketOnData(chunk));
    socket.on('error', (err) => this.socketOnError(err));
    socket.on('close', () => this.socketOnClose());
  }

  /** Stops the feed; what is waiting to be published still is. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.socket?.destroy();
    await this.chain;
  }

  private get label(): string {
    return formatTarget(this.options.target);
  }

  private socketOnConnect(): void {
    this.connectedAt = Date.now();
    this.options.log.info('channel.feed_connected', { channel: this.options.channel, target: this.label });
  }

  private socketOnData(chunk: Buffer): void {
    if (this.options.mode === 'chunks') {
      this.publish(Buffer.from(chunk));
      return;
    }
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline < 0) break;
      this.addPartial(chunk.subarray(start, newline));
      this.publishLine();
      start = newline + 1;
    }
    if (start < chunk.length) this.addPartial(chunk.subarray(start));
  }

  private addPartial(piece: Buffer): void {
    const max = this.options.maxMessageBytes;
    let rest = piece;
    while (this.partialBytes + rest.length > max) {
      const room = max - this.partialBytes;
      this.partial.push(Buffer.from(rest.subarray(0, room)));
      this.partialBytes = max;
      this.publishLine();
      rest = rest.subarray(room);
    }
    if (rest.length > 0) {
      this.partial.push(Buffer.from(rest));
      this.partialBytes += rest.length;
    }
  }

  private publishLine(): void {
    let line = Buffer.concat(this.partial, this.partialBytes);
    this.partial = [];
    this.partialBytes = 0;
    if (line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
    this.publish(line);
  }

  private publish(data: Buffer): void {
    const { store, channel, log } = this.options;
    this.pending++;
    if (this.pending >= MAX_PENDING) this.socket?.pause();
    this.chain = this.chain.then(async () => {
      try {
        await store.publish(channel, { data, contentType: undefined, event: undefined });
        this.published++;
      } catch (err) {
        if (this.failed++ === 0)
          log.warn('channel.feed_publish_failed', { channel, error: describeError(err) });
      }
      this.pending--;
      if (this.pending < MAX_PENDING / 2) this.socket?.resume();
    });
  }

  private socketOnError(err: Error): void {
    this.options.log.debug('channel.feed_error', {
      channel: this.options.channel,
      error: describeError(err),
    });
  }

  private socketOnClose(): void {
    if (this.partialBytes > 0) this.publishLine();
    this.socket = undefined;
    if (this.closed) return;
    if (this.connectedAt > 0 && Date.now() - this.connectedAt >= STABLE_MS) this.retryMs = FIRST_RETRY_MS;
    const wasConnected = this.connectedAt > 0;
    this.connectedAt = 0;
    this.options.log[wasConnected ? 'warn' : 'debug']('channel.feed_lost', {
      channel: this.options.channel,
      target: this.label,
      retry_ms: this.retryMs,
    });
    this.retryTimer = setTimeout(() => this.start(), this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }
}
