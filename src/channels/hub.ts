/**
 * This process's subscribers, by channel: what every store delivers through. Delivery walks the live
 * Set, so a subscriber that leaves while a message is handed out (a slow one disconnected) is simply not
 * visited; one added meanwhile may see the message twice and drops it by id.
 */
import type { ChannelMessage } from './message.js';
import type { ChannelListener } from './store.js';

export class LocalHub {
  private readonly listeners = new Map<string, Set<ChannelListener>>();
  private subscriptions = 0;
  delivered = 0;

  /** Adds a listener; true when it is the channel's first here. */
  add(channel: string, listener: ChannelListener): boolean {
    let set = this.listeners.get(channel);
    const first = set === undefined;
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    if (!set.has(listener)) {
      set.add(listener);
      this.subscriptions++;
    }
    return first;
  }

  /** Removes a listener; true when it was the channel's last here. */
  remove(channel: string, listener: ChannelListener): boolean {
    const set = this.listeners.get(channel);
    if (!set?.delete(listener)) return false;
    this.subscriptions--;
    if (set.size > 0) return false;
    this.listeners.delete(channel);
    return true;
  }

  count(channel: string): number {
    return this.listeners.get(channel)?.size ?? 0;
  }

  get total(): number {
    return this.subscriptions;
  }

  get channelCount(): number {
    return this.listeners.size;
  }

  channels(): IterableIterator<string> {
    return this.listeners.keys();
  }

  deliver(channel: string, message: ChannelMessage): void {
    const set = this.listeners.get(channel);
    if (!set) return;
    for (const listener of set) listener.message(channel, message);
    this.delivered += set.size;
  }

  /** Tells the channel's listeners it is gone and forgets them. */
  deleted(channel: string): void {
    const set = this.listeners.get(channel);
    if (!set) return;
    this.listeners.delete(channel);
    this.subscriptions -= set.size;
    for (const listener of set) listener.deleted(channel);
  }
}
