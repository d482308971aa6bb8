/**
 * An EventSource subscriber: Nchan's framing, `event:` (the publisher's X-EventSource-Event), `id:` and
 * one `data:` line per line of the message, after a `: hi` comment that opens the stream. A single
 * channel's event text is built once per message and shared, and the events of a pass go in one write;
 * a multiplexed subscriber's carry its own ids.
 * Slow subscribers are handled as WebSocket ones (ws-subscriber.ts), the connection simply ending.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from '../observe/log.js';
import type { ChannelMessage } from './message.js';
import { formatMessageId } from './message-id.js';
import { SharedEncoding } from './shared-encoding.js';
import type { SubscriberSink } from './subscription.js';
import type { SubscriberLimits } from './ws-subscriber.js';

function renderEvent(message: ChannelMessage, id: string): Buffer {
  let text = message.event ? `event: ${message.event.replace(/[\r\n]/g, ' ')}\n` : '';
  text += `id: ${id}\n`;
  for (const line of message.data.toString('utf8').split('\n')) text += `data: ${line}\n`;
  return Buffer.from(`${text}\n`);
}

/** A message on one channel as an event, its own id in it: shared by every subscriber of the channel. */
const events = new SharedEncoding((message) => renderEvent(message, formatMessageId(message.id)));

export const EVENTSOURCE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
} as const;

export class EventSourceSubscriber implements SubscriberSink {
  private ended = false;
  private skipping = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly limits: SubscriberLimits,
    private readonly log: Logger,
    private readonly label: string,
  ) {}

  /** Sends the headers (with `extra`: CORS) and the opening comment. */
  begin(extra: Record<string, string>): void {
    // Node's HTTP server turns Nagle off on every connection; a stream of events is a fan-out too.
    this.res.socket?.setNoDelay(this.limits.noDelay);
    this.res.writeHead(200, { ...EVENTSOURCE_HEADERS, ...extra });
    this.res.write(': hi\n\n');
  }

  send(message: ChannelMessage, multiId: string | undefined): void {
    if (this.ended) return;
    const data = multiId === undefined ? events.of(message) : renderEvent(message, multiId);
    if (this.res.writableLength + data.length > this.limits.queueBytes) this.tooSlow();
    else this.write(data);
  }

  /**
   * Several events of one channel in one write. When they do not fit in what the subscriber may have
   * waiting, each goes as if sent alone (the slow-subscriber rule per message).
   */
  sendBatch(batch: readonly ChannelMessage[], from: number): void {
    if (this.ended) return;
    const data = events.ofBatch(batch, from);
    if (this.res.writableLength + data.length <= this.limits.queueBytes) this.write(data);
    else for (let i = from; i < batch.length; i++) this.send(batch[i] as ChannelMessage, undefined);
  }

  private write(data: Buffer): void {
    this.skipping = false;
    this.res.write(data);
  }

  private tooSlow(): void {
    if (this.limits.slow === 'skip') {
      if (!this.skipping)
        this.log.warn('channel.subscriber_slow', { subscriber: this.label, action: 'skip' });
      this.skipping = true;
      return;
    }
    this.log.warn('channel.subscriber_slow', { subscriber: this.label, action: 'close' });
    this.ended = true;
    this.res.destroy();
  }

  deleted(): void {
    this.shutdown();
  }

  shutdown(): void {
    if (this.ended) return;
    this.ended = true;
    this.res.end();
  }
}
