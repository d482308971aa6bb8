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
 * A publisher on a quiet channel is answered once the pass has handed its message to every subscriber
 * here, as when every walk ran to its end at once; one that keeps the channel busy (its message comes
 * within QUIET_MS of the last pass's end, or during a pass) as soon as the message is taken, so that its
 * next one can join the next pass. On a quiet channel nothing of the publisher's answer then runs, or
 * allocates, in the middle of the walk.
 *
 * Queued messages are bounded: past MAX_QUEUED messages (or MAX_QUEUED_BYTES) a pass no longer yields,
 * so nothing more is read until the channel has caught up, as when every pass ran to its end at once
 * (publishers and Redis wait on their sockets; nothing is dropped).
 *
 * A pass that yields walks the subscribers there were when it began (kept in an array the channel reuses:
 * a walk allocates nothing per subscriber), less any that has left since (a slow one disconnected);
 * one that joins meanwhile starts from the channel's buffer, which already holds the message.
 */
import type { Logger } from '../observe/log.js';
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
/** A message this long after the channel's last pass ended finds it quiet: its publisher waits. */
const QUIET_MS = 20;

class ChannelFanout {
  readonly listeners = new Set<ChannelListener>();
  /** Messages waiting for the next pass, oldest first. */
  queue: ChannelMessage[] = [];
  queuedBytes = 0;
  /** The pass under way: what it hands out; undefined when none. */
  batch: ChannelMessage[] | undefined;
  /** A pass that yields: its subscribers (entries cleared as they are visited), how many, the next. */
  readonly order: (ChannelListener | undefined)[] = [];
  orderLength = 0;
  position = 0;
  /** The next slice, when the pass has yielded; what runs it (made once). */
  resume: NodeJS.Immediate | undefined;
  continuePass: (() => void) | undefined;
  /** When the last pass ended (performance.now()). */
  lastPassEnd = Number.NEGATIVE_INFINITY;
  /** Publishers waiting for the pass under way to end. */
  waiting: (() => void)[] = [];

  constructor(readonly channel: string) {}

  get backlogged(): boolean {
    return this.queue.length >= MAX_QUEUED || this.queuedBytes >= MAX_QUEUED_BYTES;
  }

  /** The pass under way has ended (or stopped): its waiting publishers may be answered. */
  passEnded(): void {
    this.lastPassEnd = performance.now();
    if (this.waiting.length === 0) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
}

export class LocalHub {
  private readonly fanouts = new Map<string, ChannelFanout>();
  private subscriptions = 0;
  delivered = 0;
  /** Passes over a channel's subscribers; each subscriber gets a pass's messages in one write. */
  passes = 0;

  /**
   * A subscriber that throws while handed a message (none should) is logged (`channel.delivery_failed`)
   * and the pass goes on to the others, so one broken subscriber neither stalls the channel nor ends
   * the process.
   */
  constructor(private readonly log: Logger) {}

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
    if (fanout.position < fanout.orderLength) {
      // A pass under way has yet to reach it, perhaps: it is not visited.
      const at = fanout.order.indexOf(listener, fanout.position);
      if (at >= 0) fanout.order[at] = undefined;
    }
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

  /**
   * Hands `message` to the channel's subscribers: now, or in the next pass when one is under way. On a
   * quiet channel whose pass yields, a promise that resolves when that pass has ended: the publisher's
   * answer waits for it.
   */
  deliver(channel: string, message: ChannelMessage): Promise<void> | undefined {
    const fanout = this.fanouts.get(channel);
    if (!fanout) return undefined;
    if (fanout.batch) {
      fanout.queue.push(message);
      fanout.queuedBytes += messageBytes(message);
      return undefined;
    }
    const quiet = performance.now() - fanout.lastPassEnd > QUIET_MS;
    this.startPass(fanout, [message]);
    if (!quiet || !fanout.batch) return undefined;
    return new Promise((resolve) => fanout.waiting.push(resolve));
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
    this.walk(fanout, true);
  }

  /**
   * Runs the pass under way: at once when the channel is small, when it may not yield or when too much
   * is queued; otherwise a slice at a time. Then the next pass, if any.
   */
  private walk(fanout: ChannelFanout, mayYield: boolean): void {
    fanout.resume = undefined;
    while (fanout.batch) {
      const batch = fanout.batch;
      const sliced = mayYield && !fanout.backlogged;
      if (fanout.position === fanout.orderLength) {
        // A pass that has not begun.
        if (!sliced || fanout.listeners.size <= SLICE) {
          for (const listener of fanout.listeners) this.hand(fanout, listener, batch);
          this.delivered += fanout.listeners.size * batch.length;
          this.nextPass(fanout);
          continue;
        }
        this.takeOrder(fanout);
      }
      const order = fanout.order;
      const end = sliced ? Math.min(fanout.orderLength, fanout.position + SLICE) : fanout.orderLength;
      let visited = 0;
      for (let i = fanout.position; i < end; i++) {
        const listener = order[i];
        if (listener === undefined) continue;
        order[i] = undefined;
        this.hand(fanout, listener, batch);
        visited++;
      }
      fanout.position = end;
      this.delivered += visited * batch.length;
      if (end < fanout.orderLength) {
        fanout.continuePass ??= () => this.walk(fanout, true);
        fanout.resume = setImmediate(fanout.continuePass);
        return;
      }
      fanout.position = fanout.orderLength = 0;
      this.nextPass(fanout);
    }
  }

  private hand(fanout: ChannelFanout, listener: ChannelListener, batch: ChannelMessage[]): void {
    try {
      // Nearly every pass hands out one message: that goes as itself, without a batch to frame.
      if (batch.length === 1) listener.message(fanout.channel, batch[0] as ChannelMessage);
      else listener.messages(fanout.channel, batch);
    } catch (err) {
      this.log.error('channel.delivery_failed', { channel: fanout.channel, error: String(err) });
    }
  }

  /** The subscribers of a pass that yields, as they are when it begins. */
  private takeOrder(fanout: ChannelFanout): void {
    const order = fanout.order;
    let n = 0;
    for (const listener of fanout.listeners) order[n++] = listener;
    fanout.orderLength = n;
    fanout.position = 0;
  }

  /** The pass under way has ended: the next one takes what is queued, if anything. */
  private nextPass(fanout: ChannelFanout): void {
    fanout.passEnded();
    if (fanout.queue.length === 0) {
      fanout.batch = undefined;
      return;
    }
    this.passes++;
    fanout.batch = this.takeBatch(fanout);
  }

  private takeBatch(fanout: ChannelFanout): ChannelMessage[] {
    let count = 0;
    let bytes = 0;
    for (const message of fanout.queue) {
      const size = messageBytes(message);
      if (count === MAX_BATCH || (count > 0 && bytes + size > MAX_BATCH_BYTES)) break;
      bytes += size;
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
    fanout.order.fill(undefined, fanout.position, fanout.orderLength);
    fanout.position = fanout.orderLength = 0;
    fanout.queue = [];
    fanout.queuedBytes = 0;
    fanout.passEnded();
  }
}
