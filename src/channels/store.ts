/**
 * Where channels live: in this process (memory-store.ts) or in Redis, shared by every wstcp pointed at it
 * (redis-store.ts). Both hand messages to this process's subscribers through a LocalHub (hub.ts).
 */
import type { ChannelMessage } from './message.js';
import type { MessageId } from './message-id.js';

/** What Nchan's channel info shows. */
export interface ChannelInfo {
  readonly messages: number;
  /** Subscribers on every instance sharing the store. */
  readonly subscribers: number;
  /** Unix seconds of the last subscriber request; 0 when none ever came. */
  readonly lastRequested: number;
  readonly lastId: MessageId | undefined;
}

export interface PublishInput {
  readonly data: Buffer;
  readonly contentType: string | undefined;
  readonly event: string | undefined;
}

export interface Published {
  readonly message: ChannelMessage;
  /** The channel after the publish. */
  readonly info: ChannelInfo;
}

/** A subscriber's side of a channel: this process's connections, fed by the store. */
export interface ChannelListener {
  message(channel: string, message: ChannelMessage): void;
  /** Several messages in a row, oldest first (queued while the hub walked the channel's subscribers). */
  messages(channel: string, batch: readonly ChannelMessage[]): void;
  /** The channel was deleted: the subscriber is told and ends. */
  deleted(channel: string): void;
}

/** Counts for the log and the metrics. */
export interface ChannelStats {
  /** Channels this process holds (memory) or has subscribers on (Redis). */
  readonly channels: number;
  /** Subscriptions of this process's connections (a multiplexed connection counts once per channel). */
  readonly subscribers: number;
  readonly published: number;
  readonly delivered: number;
  /** Passes over a channel's subscribers (hub.ts): under a fast publisher, fewer than the messages. */
  readonly passes: number;
}

export interface ChannelStore {
  readonly description: string;
  publish(channel: string, input: PublishInput): Promise<Published>;
  /** undefined when the channel does not exist. */
  info(channel: string): Promise<ChannelInfo | undefined>;
  /** Deletes the channel and ends its subscribers; its info before, or undefined when it did not exist. */
  delete(channel: string): Promise<ChannelInfo | undefined>;
  /**
   * Adds a subscriber (creating the channel) and resolves to the buffered messages, oldest first. Live
   * messages may reach `listener` before the promise resolves; the subscriber drops those it already has.
   */
  subscribe(channel: string, listener: ChannelListener): Promise<readonly ChannelMessage[]>;
  unsubscribe(channel: string, listener: ChannelListener): void;
  /** The buffered messages without subscribing (a long-poll answered at once). */
  messages(channel: string): Promise<readonly ChannelMessage[]>;
  stats(): ChannelStats;
  /** Hands out at once what waits for the next pass over a channel's subscribers (hub.ts). */
  flush(): void;
  close(): Promise<void>;
}
