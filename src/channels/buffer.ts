/**
 * A channel's message buffer: the newest messages, at most `maxMessages` of them and `maxBytes` in all,
 * each kept `ttlMs` (0: until evicted). Oldest first; eviction and expiry always take from the front,
 * as in Nchan (an older message holds back a newer one's expiry).
 */
import { type ChannelMessage, messageBytes } from './message.js';
import { compareMessageIds, type MessageId } from './message-id.js';

export interface BufferLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly ttlMs: number;
}

/** Where a new subscriber starts (Nchan's nchan_subscriber_first_message). */
export type FirstMessage = 'oldest' | 'newest' | number;

export class MessageBuffer {
  private readonly messages: ChannelMessage[] = [];
  private bytes = 0;

  constructor(private readonly limits: BufferLimits) {}

  get length(): number {
    return this.messages.length;
  }

  get size(): number {
    return this.bytes;
  }

  /** Adds `message`, evicting the oldest ones past the limits. */
  push(message: ChannelMessage): void {
    if (this.limits.maxMessages === 0) return;
    this.messages.push(message);
    this.bytes += messageBytes(message);
    while (
      this.messages.length > this.limits.maxMessages ||
      (this.bytes > this.limits.maxBytes && this.messages.length > 1)
    ) {
      this.dropOldest();
    }
  }

  /** Drops messages older than the ttl; returns how many. */
  expire(now: number): number {
    if (this.limits.ttlMs === 0) return 0;
    let dropped = 0;
    for (;;) {
      const oldest = this.messages[0];
      if (!oldest || now - oldest.publishedAt < this.limits.ttlMs) return dropped;
      this.dropOldest();
      dropped++;
    }
  }

  clear(): void {
    this.messages.length = 0;
    this.bytes = 0;
  }

  /** Messages newer than `id`, oldest first. */
  after(id: MessageId): ChannelMessage[] {
    const messages = this.messages;
    let i = messages.length;
    while (i > 0 && compareMessageIds((messages[i - 1] as ChannelMessage).id, id) > 0) i--;
    return messages.slice(i);
  }

  /** What a new subscriber gets first. */
  first(position: FirstMessage): ChannelMessage[] {
    return firstMessages(this.messages, position);
  }

  all(): readonly ChannelMessage[] {
    return this.messages;
  }

  private dropOldest(): void {
    const dropped = this.messages.shift();
    if (dropped) this.bytes -= messageBytes(dropped);
  }
}

/**
 * Nchan's rule: `oldest` is everything, `newest` (or 0) nothing, `n` starts at the n-th message from the
 * oldest, `-n` at the n-th from the newest.
 */
export function firstMessages(messages: readonly ChannelMessage[], position: FirstMessage): ChannelMessage[] {
  if (position === 'oldest') return messages.slice();
  if (position === 'newest' || position === 0) return [];
  return position > 0 ? messages.slice(position - 1) : messages.slice(position);
}
