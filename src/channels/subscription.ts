/**
 * One connection's subscription to one or more channels (`/sub/a,b,c`): where it starts (a client's last
 * id, or --channel-first), the buffered messages first, then live ones, each at most once and in order
 * per channel. Live messages that arrive while the buffered ones are being fetched (a Redis round trip)
 * wait, then go out if they are newer than what was sent.
 */
import { type FirstMessage, firstMessages } from './buffer.js';
import type { ChannelMessage } from './message.js';
import { compareMessageIds, formatMultiId, type MessageId } from './message-id.js';
import type { ChannelListener, ChannelStore } from './store.js';

/** Where a subscriber sends what it receives: one per transport (WebSocket, EventSource, long-poll). */
export interface SubscriberSink {
  /**
   * `multiId` is the multi-channel position the client sees when multiplexed; undefined for one channel,
   * whose id is the message's own (formatted only by sinks that send it: fan-out stays allocation-free).
   */
  send(message: ChannelMessage, multiId: string | undefined): void;
  /**
   * `batch[from..]`, several messages of one channel in a row (not multiplexed), oldest first: a sink
   * that can sends them in one write.
   */
  sendBatch?(batch: readonly ChannelMessage[], from: number): void;
  /** One of the channels was deleted. */
  deleted(channel: string): void;
  /** The server is closing: end the connection. */
  shutdown(): void;
}

/** A client's resume point: one id (one channel) or a position per channel (`-` entries undefined). */
export type ResumeFrom = readonly (MessageId | undefined)[];

export class Subscription implements ChannelListener {
  /**
   * The last id sent (or skipped) per channel. With one channel (nearly every subscriber) it is `last`
   * and `positions` stays empty: a delivery then touches no array (docs/performance.md).
   */
  private readonly positions: (MessageId | undefined)[];
  private last: MessageId | undefined;
  private readonly single: boolean;
  /** Live messages that came while starting; undefined once started. */
  private pending: { channel: string; message: ChannelMessage }[] | undefined = [];
  private subscribed: string[] = [];
  private closed = false;

  constructor(
    private readonly store: ChannelStore,
    readonly channels: readonly string[],
    private readonly sink: SubscriberSink,
  ) {
    this.single = channels.length === 1;
    this.positions = this.single ? [] : channels.map(() => undefined);
  }

  /**
   * Subscribes to every channel and selects what the start position says to send first; nothing is sent
   * until open(), so that the transport can still refuse (503 when the store cannot subscribe; what was
   * subscribed is then undone by close()).
   */
  async start(from: ResumeFrom | undefined, first: FirstMessage): Promise<void> {
    const backlog: { channel: string; message: ChannelMessage }[] = [];
    for (const [i, channel] of this.channels.entries()) {
      const buffered = await this.store.subscribe(channel, this);
      this.subscribed.push(channel);
      if (this.closed) return;
      const resume = from ? from[i] : undefined;
      const selected = from
        ? resume
          ? buffered.filter((m) => compareMessageIds(m.id, resume) > 0)
          : buffered.slice()
        : firstMessages(buffered, first);
      // What is skipped counts as seen, so that a late live copy of it is not sent either.
      const position = selected.length > 0 ? undefined : (resume ?? buffered[buffered.length - 1]?.id);
      if (this.single) this.last = position;
      else this.positions[i] = position;
      for (const message of selected) backlog.push({ channel, message });
    }
    if (this.channels.length > 1) backlog.sort((a, b) => a.message.publishedAt - b.message.publishedAt);
    this.pending = backlog.concat(this.pending ?? []);
  }

  /** Sends the selected messages, then each live one as it comes. */
  open(): void {
    const pending = this.pending ?? [];
    this.pending = undefined;
    for (const { channel, message } of pending) this.forward(channel, message);
  }

  message(channel: string, message: ChannelMessage): void {
    if (this.pending) this.pending.push({ channel, message });
    else this.forward(channel, message);
  }

  messages(channel: string, batch: readonly ChannelMessage[]): void {
    const sink = this.sink;
    if (this.pending || this.closed || !this.single || sink.sendBatch === undefined) {
      for (const message of batch) this.message(channel, message);
      return;
    }
    // Oldest first: what this subscriber already has is a prefix of the batch.
    const seen = this.last;
    let from = 0;
    while (seen && from < batch.length && compareMessageIds((batch[from] as ChannelMessage).id, seen) <= 0)
      from++;
    if (from === batch.length) return;
    this.last = (batch[batch.length - 1] as ChannelMessage).id;
    sink.sendBatch(batch, from);
  }

  deleted(channel: string): void {
    this.subscribed = this.subscribed.filter((c) => c !== channel);
    this.sink.deleted(channel);
  }

  /** Leaves every channel; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const channel of this.subscribed) this.store.unsubscribe(channel, this);
    this.subscribed = [];
  }

  private forward(channel: string, message: ChannelMessage): void {
    if (this.closed) return;
    if (this.single) {
      const seen = this.last;
      if (seen && compareMessageIds(message.id, seen) <= 0) return;
      this.last = message.id;
      this.sink.send(message, undefined);
      return;
    }
    // At most 255 channels: a scan costs less than a Map per subscriber.
    const i = this.channels.indexOf(channel);
    if (i < 0) return;
    const seen = this.positions[i];
    if (seen && compareMessageIds(message.id, seen) <= 0) return;
    this.positions[i] = message.id;
    this.sink.send(message, formatMultiId(this.positions, i));
  }
}
