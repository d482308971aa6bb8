/**
 * One published message, as every store hands it to subscribers, and its WebSocket frames: built once, on
 * first use, and shared by every subscriber they go to (shared-encoding.ts).
 */
import { frame, Opcode } from '../websocket/frames.js';
import { formatMessageId, type MessageId } from './message-id.js';
import { SharedEncoding } from './shared-encoding.js';

export interface ChannelMessage {
  readonly id: MessageId;
  readonly data: Buffer;
  /** The publisher's Content-Type, kept for long-poll answers and `ws+meta.nchan` subscribers. */
  readonly contentType: string | undefined;
  /** The publisher's X-EventSource-Event, sent as the EventSource `event:` line. */
  readonly event: string | undefined;
  /** When it was published (ms since the epoch): expiry and publish-to-delivery latency. */
  readonly publishedAt: number;
}

/** Whether subscribers get the message in a binary frame rather than a text one. */
export function isBinary(message: ChannelMessage): boolean {
  return message.contentType?.split(';')[0]?.trim().toLowerCase() === 'application/octet-stream';
}

/** The message as one unmasked WebSocket frame, text or binary. */
export const wsFrames = new SharedEncoding((message) =>
  frame(isBinary(message) ? Opcode.Binary : Opcode.Text, message.data),
);

/**
 * The frame for a subscriber that asked for Nchan's `ws+meta.nchan` subprotocol: the id and content type
 * in front of the data, the form NchanSubscriber reads (`id: ...\ncontent-type: ...\n\n`). `id` is the
 * message's own, or the multi-channel position of a multiplexed subscriber.
 */
export function wsMetaFrame(message: ChannelMessage, id: string): Buffer {
  const type = message.contentType ? `content-type: ${message.contentType}\n` : '';
  const head = Buffer.from(`id: ${id}\n${type}\n`);
  return frame(isBinary(message) ? Opcode.Binary : Opcode.Text, Buffer.concat([head, message.data]));
}

/** The `ws+meta.nchan` frame of a message on one channel, its own id in front. */
export const wsMetaFrames = new SharedEncoding((message) =>
  wsMetaFrame(message, formatMessageId(message.id)),
);

/** Bytes a message holds in a buffer, for the per-channel byte cap. */
export function messageBytes(message: ChannelMessage): number {
  return message.data.length + (message.contentType?.length ?? 0) + (message.event?.length ?? 0) + 64;
}
