/**
 * A long-poll subscriber: one message per request. The answer carries Nchan's Last-Modified (the message
 * time) and Etag (its tag; the whole position when multiplexed); the client sends them back as
 * If-Modified-Since and If-None-Match to get the next one, which is answered at once when buffered or
 * as soon as it is published. A deleted channel answers 410.
 */
import type { ServerResponse } from 'node:http';
import type { ChannelMessage } from './message.js';
import { type MessageId, parseMultiId } from './message-id.js';
import { answer } from './respond.js';
import type { ResumeFrom, SubscriberSink } from './subscription.js';

/** The position a long-poll client gives with If-Modified-Since and If-None-Match, if any. */
export function longPollPosition(
  ifModifiedSince: string | undefined,
  ifNoneMatch: string | undefined,
  channels: number,
): ResumeFrom | undefined {
  const etag = ifNoneMatch
    ?.trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
  if (channels > 1) return etag ? parseMultiId(etag, channels) : undefined;
  if (!ifModifiedSince) return undefined;
  const ms = Date.parse(ifModifiedSince);
  if (Number.isNaN(ms)) return undefined;
  const tag = etag && /^\d{1,9}$/.test(etag) ? Number(etag) : Number.MAX_SAFE_INTEGER;
  const id: MessageId = { time: Math.floor(ms / 1000), tag };
  return [id];
}

export class LongPollSubscriber implements SubscriberSink {
  private done = false;

  constructor(
    private readonly res: ServerResponse,
    /** Headers every answer carries (CORS). */
    private readonly extra: Record<string, string>,
    /** Called once the answer is sent (the subscription ends). */
    private readonly finished: () => void,
  ) {}

  get answered(): boolean {
    return this.done;
  }

  send(message: ChannelMessage, multiId: string | undefined): void {
    if (this.done) return;
    this.done = true;
    const headers: Record<string, string> = {
      ...this.extra,
      'Last-Modified': new Date(message.id.time * 1000).toUTCString(),
      Etag: multiId ?? String(message.id.tag),
      Vary: 'If-None-Match, If-Modified-Since',
    };
    if (message.contentType) headers['Content-Type'] = message.contentType;
    answer(this.res, 200, headers, message.data);
    this.finished();
  }

  deleted(): void {
    if (this.done) return;
    this.done = true;
    answer(this.res, 410, this.extra);
    this.finished();
  }

  /** The server shuts down: the client will poll again. */
  shutdown(): void {
    if (this.done) return;
    this.done = true;
    answer(this.res, 503, { 'Retry-After': 1 });
    this.finished();
  }
}
