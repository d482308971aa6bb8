/**
 * This process's subscribers, by channel: what every store delivers through.
 *
 * A message is handed out in a pass over the channel's subscribers. A pass over a large channel yields to
 * the event loop every SLICE subscribers, so that the server keeps reading (publishers, other channels,
 * new clients) while it walks 10,000 sockets. Messages published meanwhile wait for the next pass and go
 * out together: each subscriber then gets them in one write (when its transport can take a batch, as a
 * WebSocket can), so a channel published to faster than one walk takes costs one system call per
 * subscriber per walk, not per message. Every subscriber still gets every message once and in order.
 *
 * Queued messages are bounded: past MAX_QUEUED messages (or MAX_QUEUED_BYTES) a pass no longer yields,
 * so nothing more is read until the channel has caught up, as when every pass ran to its end at once
 * (publishers and Redis wait on their sockets; nothing is dropped).
 *
 * A pass walks the live Set: a subscriber that leaves meanwhile (a slow one disconnected) is not visited;
 * one added meanwhile may see a message twice and drops it by id.
 */
import { type ChannelMessage, messageBytes } from './message.js';
import type { ChannelListener } from './store.js';

/** Subscribers visited before a pass lets the event loop run. */
const SLICE = 256;
/** At most this many messages, or bytes, go out in one pass; more stay queued for the next. */
const MAX_BATCH = 64;
const MAX_BATCH_BYTES = 256 * 1024;
/** Past this many queued messages, or bytes, passes run to their end without yielding. */
const MAX_QUEUED = 1024;
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

class ChannelFanout {
  readonly listeners = new Set<ChannelListener>();
  /** Messages waiting for the next pass, oldest first. */
  queue: ChannelMessage[] = [];
  queuedBytes = 0;
  /** The pass under way: what it hands out and where it stands; undefined when none. */
  batch: ChannelMessage[] | undefined;
  walker: Iterator<ChannelListener> | undefined;
  resume: NodeJS.Immediate | undefined;

  constructor(readonly channel: string) {}

  get backlogged(): boolean {
    return this.queue.length >= MAX_QUEUED || this.queuedBytes >= MAX_QUEUED_BYTES;
  }
}

export class LocalHub {
  private readonly fanouts = new Map<string, ChannelFanout>();
  private subscriptions = 0;
  delivered = 0;
  /** Passes over a channel's subscribers; each subscriber gets a pass's messages in one write. */
  passes = 0;

  /**
   * `failed` hears of a subscriber that threw while handed a message (none should): the pass goes on
   * to the others, so one broken subscriber neither stalls the channel nor ends the process.
   */
  constructor(private readonly failed: (channel: string, err: unknown) => void) {}

  /** Adds a listener; true when it is the channel's first here. */
  add(channel: string, listener: ChannelListener): boolean {
    let fanout = this.fanouts.get(channel);
    const first = fanout === undefined;
    if (!fanout) {
      fanout = new ChannelFanout(channel);
      this.fanouts.set(channel, fanout);
    }
    if (!fanout.listeners.has(listener)) {
      fanout.listeners.add(listener);
      this.subscriptions++;
    }
    return first;
  }

  /** Removes a listener; true when it was the channel's last here. */
  remove(channel: string, listener: ChannelListener): boolean {
    const fanout = this.fanouts.get(channel);
    if (!fanout?.listeners.delete(listener)) return false;
    this.subscriptions--;
    if (fanout.listeners.size > 0) return false;
    // Nobody is left to hand anything to.
    this.stop(fanout);
    this.fanouts.delete(channel);
    return true;
  }

  count(channel: string): number {
    return this.fanouts.get(channel)?.listeners.size ?? 0;
  }

  get total(): number {
    return this.subscriptions;
  }

  get channelCount(): number {
    return this.fanouts.size;
  }

  channels(): IterableIterator<string> {
    return this.fanouts.keys();
  }

  /** Hands `message` to the channel's subscribers: now, or in the next pass when one is under way. */
  deliver(channel: string, message: ChannelMessage): void {
    const fanout = this.fanouts.get(channel);
    if (!fanout) return;
    if (fanout.batch) {
      fanout.queue.push(message);
      fanout.queuedBytes += messageBytes(message);
      return;
    }
    this.startPass(fanout, [message]);
  }

  /** Tells the channel's listeners it is gone (after what was queued for them) and forgets them. */
  deleted(channel: string): void {
    const fanout = this.fanouts.get(channel);
    if (!fanout) return;
    this.finish(fanout);
    this.fanouts.delete(channel);
    this.subscriptions -= fanout.listeners.size;
    for (const listener of fanout.listeners) listener.deleted(channel);
  }

  /** Hands out everything queued, at once: before the subscribers are told to end (shutdown). */
  flush(): void {
    for (const fanout of this.fanouts.values()) this.finish(fanout);
  }

  /** Stops every pass (the store is closing; flush() came first). */
  close(): void {
    for (const fanout of this.fanouts.values()) this.stop(fanout);
  }

  private startPass(fanout: ChannelFanout, batch: ChannelMessage[]): void {
    this.passes++;
    fanout.batch = batch;
    fanout.walker = fanout.listeners.values();
    this.walk(fanout, true);
  }

  /** Walks the pass under way, a slice at a time when `mayYield`; then the next pass, if any. */
  private walk(fanout: ChannelFanout, mayYield: boolean): void {
    fanout.resume = undefined;
    if (!fanout.batch) return;
    for (;;) {
      const batch = fanout.batch as ChannelMessage[];
      const walker = fanout.walker as Iterator<ChannelListener>;
      const channel = fanout.channel;
      let visited = 0;
      let done = false;
      const limit = mayYield && !fanout.backlogged ? SLICE : Number.POSITIVE_INFINITY;
      // Nearly every pass hands out one message: that goes as itself, without a batch to frame.
      const one = batch.length === 1 ? batch[0] : undefined;
      while (visited < limit) {
        const next = walker.next();
        if (next.done) {
          done = true;
          break;
        }
        try {
          if (one) next.value.message(channel, one);
          else next.value.messages(channel, batch);
        } catch (err) {
          this.failed(channel, err);
        }
        visited++;
      }
      this.delivered += visited * batch.length;
      if (!done) {
        fanout.resume = setImmediate(() => this.walk(fanout, true));
        return;
      }
      if (fanout.queue.length === 0) {
        fanout.batch = undefined;
        fanout.walker = undefined;
        return;
      }
      this.passes++;
      fanout.batch = this.takeBatch(fanout);
      fanout.walker = fanout.listeners.values();
    }
  }

  private takeBatch(fanout: ChannelFanout): ChannelMessage[] {
    let count = 0;
    let bytes = 0;
    for (const message of fanout.queue) {
      if (count === MAX_BATCH || (count > 0 && bytes + messageBytes(message) > MAX_BATCH_BYTES)) break;
      bytes += messageBytes(message);
      count++;
    }
    fanout.queuedBytes -= bytes;
    return fanout.queue.splice(0, count);
  }

  /** Runs the pass under way and every queued one to their end. */
  private finish(fanout: ChannelFanout): void {
    if (!fanout.batch) return;
    if (fanout.resume) clearImmediate(fanout.resume);
    this.walk(fanout, false);
  }

  private stop(fanout: ChannelFanout): void {
    if (fanout.resume) clearImmediate(fanout.resume);
    fanout.resume = undefined;
    fanout.batch = undefined;
    fanout.walker = undefined;
    fanout.queue = [];
    fanout.queuedBytes = 0;
  }
}
