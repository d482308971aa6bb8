/**
 * One published message, as every store hands it to subscribers. Its WebSocket frame is built once, on
 * first use, and shared by every subscriber it goes to (fan-out writes the same buffer to each socket).
 */
import { frame, Opcode } from '../websocket/frames.js';
import { formatMessageId, type MessageId } from './message-id.js';

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

const frames = new WeakMap<ChannelMessage, Buffer>();
/** The last message asked for: a fan-out asks for the same one once per subscriber, in a row. */
let lastMessage: ChannelMessage | undefined;
let lastFrame: Buffer | undefined;

/** The message as one unmasked WebSocket frame, built once per message. */
export function wsFrame(message: ChannelMessage): Buffer {
  if (message === lastMessage) return lastFrame as Buffer;
  let built = frames.get(message);
  if (!built) {
    built = frame(isBinary(message) ? Opcode.Binary : Opcode.Text, message.data);
    frames.set(message, built);
  }
  lastMessage = message;
  lastFrame = built;
  return built;
}

/** The batch being handed out and its frames end to end: a pass asks for it once per subscriber. */
let lastBatch: readonly ChannelMessage[] | undefined;
let lastBatchFrames: Buffer | undefined;

/** `batch[from..]` as WebSocket frames end to end, in one buffer (built once per batch when from is 0). */
export function wsFrames(batch: readonly ChannelMessage[], from: number): Buffer {
  if (from === 0 && batch === lastBatch) return lastBatchFrames as Buffer;
  const built = Buffer.concat(batch.slice(from).map(wsFrame));
  if (from === 0) {
    lastBatch = batch;
    lastBatchFrames = built;
  }
  return built;
}

/**
 * The frame for a subscriber that asked for Nchan's `ws+meta.nchan` subprotocol: the id and content type
 * in front of the data, the form NchanSubscriber reads (`id: ...\ncontent-type: ...\n\n`).
 */
export function wsMetaFrame(message: ChannelMessage, multiId: string | undefined): Buffer {
  const id = multiId ?? formatMessageId(message.id);
  const type = message.contentType ? `content-type: ${message.contentType}\n` : '';
  const head = Buffer.from(`id: ${id}\n${type}\n`);
  return frame(isBinary(message) ? Opcode.Binary : Opcode.Text, Buffer.concat([head, message.data]));
}

/** Bytes a message holds in a buffer, for the per-channel byte cap. */
export function messageBytes(message: ChannelMessage): number {
  return message.data.length + (message.contentType?.length ?? 0) + (message.event?.length ?? 0) + 64;
}
