/**
 * An EventSource subscriber: Nchan's framing, `event:` (the publisher's X-EventSource-Event), `id:` and
 * one `data:` line per line of the message, after a `: hi` comment that opens the stream. A single
 * channel's event text is built once per message and shared; a multiplexed one carries its own id.
 * Slow subscribers are handled as WebSocket ones (ws-subscriber.ts), the connection simply ending.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from '../observe/log.js';
import type { ChannelMessage } from './message.js';
import { formatMessageId } from './message-id.js';
import type { SubscriberSink } from './subscription.js';
import type { SubscriberLimits } from './ws-subscriber.js';

const events = new WeakMap<ChannelMessage, Buffer>();

function renderEvent(message: ChannelMessage, id: string): Buffer {
  let text = message.event ? `event: ${message.event.replace(/[\r\n]/g, ' ')}\n` : '';
  text += `id: ${id}\n`;
  for (const line of message.data.toString('utf8').split('\n')) text += `data: ${line}\n`;
  return Buffer.from(`${text}\n`);
}

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
    let data = multiId === undefined ? events.get(message) : undefined;
    if (!data) {
      data = renderEvent(message, multiId ?? formatMessageId(message.id));
      if (multiId === undefined) events.set(message, data);
    }
    if (this.res.writableLength + data.length > this.limits.queueBytes) {
      if (this.limits.slow === 'skip') {
        if (!this.skipping)
          this.log.warn('channel.subscriber_slow', { subscriber: this.label, action: 'skip' });
        this.skipping = true;
        return;
      }
      this.log.warn('channel.subscriber_slow', { subscriber: this.label, action: 'close' });
      this.ended = true;
      this.res.destroy();
      return;
    }
    this.skipping = false;
    this.res.write(data);
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
