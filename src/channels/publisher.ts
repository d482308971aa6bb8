/**
 * The publisher endpoint (`/pub/ID`), with Nchan's answers: POST or PUT publishes the body (202 when the
 * channel has no subscriber, 201 when it has), GET shows the channel info (404 for an unknown channel),
 * DELETE deletes the channel and ends its subscribers (200 with the info it had, 404 when unknown).
 * The info comes as text, JSON or XML per Accept (info.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError, HttpError, refuse } from '../errors.js';
import { answerRefusal } from '../front/refusal.js';
import type { Logger } from '../observe/log.js';
import { renderChannelInfo } from './info.js';
import { answer } from './respond.js';
import type { ChannelInfo, ChannelStore } from './store.js';

export interface PublisherContext {
  readonly store: ChannelStore;
  readonly log: Logger;
  /** Largest body accepted (413 beyond). */
  readonly maxMessageBytes: number;
}

const ALLOW = 'GET, POST, PUT, DELETE';

function answerInfo(res: ServerResponse, req: IncomingMessage, status: number, info: ChannelInfo): void {
  const { contentType, body } = renderChannelInfo(info, req.headers.accept);
  answer(res, status, { 'Content-Type': contentType }, body);
}

const EMPTY = Buffer.alloc(0);

/**
 * Reads the request body, at most `max` bytes; rejects with 413 beyond. A body that came in the same
 * packets as the headers (nearly every publish) is buffered in `req` by the next tick: all of its
 * Content-Length there (or, without a body, the request complete), it is taken with one read(), without
 * the stream's flowing mode and the 'data' and 'end' events it spreads over several ticks (about 70 µs of
 * a publish arriving at an idle, cache-cold process; docs/performance.md). Anything else streams in.
 */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) {
      reject(refuse('CHANNEL_MESSAGE_TOO_LARGE', `the message is larger than ${max} bytes`));
      return;
    }
    process.nextTick(() => {
      const whole = declared > 0 ? req.readableLength === declared : req.complete && req.readableLength === 0;
      if (whole) resolve((req.read() as Buffer | null) ?? EMPTY);
      else readChunks(req, max, resolve, reject);
    });
  });
}

/** The body as it streams in, for one not complete yet (or larger than `max`: 413). */
function readChunks(
  req: IncomingMessage,
  max: number,
  resolve: (body: Buffer) => void,
  reject: (err: unknown) => void,
): void {
  const chunks: Buffer[] = [];
  let length = 0;
  req.on('data', (chunk: Buffer) => {
    length += chunk.length;
    if (length > max) {
      req.removeAllListeners('data');
      req.resume();
      reject(refuse('CHANNEL_MESSAGE_TOO_LARGE', `the message is larger than ${max} bytes`));
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length)));
  req.on('error', reject);
}

/** The store failed in a way that is not a refusal of its own (Redis down): 503, logged. */
function unavailable(err: unknown, ctx: PublisherContext, channel: string): HttpError {
  if (err instanceof HttpError) return err;
  ctx.log.warn('channel.store_failed', { channel, error: describeError(err) });
  return refuse('STORE_UNAVAILABLE', 'the channel store is unavailable, try again later', {
    cause: err,
  });
}

export async function handlePublisherRequest(
  req: IncomingMessage,
  res: ServerResponse,
  channel: string,
  ctx: PublisherContext,
): Promise<void> {
  try {
    switch (req.method) {
      case 'GET':
      case 'HEAD': {
        const info = await ctx.store.info(channel);
        if (!info) answer(res, 404, {});
        else answerInfo(res, req, 200, info);
        return;
      }
      case 'POST':
      case 'PUT': {
        const data = await readBody(req, ctx.maxMessageBytes);
        const event = req.headers['x-eventsource-event'];
        const { info } = await ctx.store.publish(channel, {
          data,
          contentType: req.headers['content-type'],
          event: typeof event === 'string' ? event : undefined,
        });
        answerInfo(res, req, info.subscribers > 0 ? 201 : 202, info);
        return;
      }
      case 'DELETE': {
        const info = await ctx.store.delete(channel);
        if (!info) answer(res, 404, {});
        else answerInfo(res, req, 200, info);
        return;
      }
      case 'OPTIONS':
        answer(res, 200, { Allow: ALLOW });
        return;
      default:
        answerRefusal(
          res,
          refuse('METHOD_NOT_ALLOWED', `${req.method} is not allowed on a publisher endpoint`, {
            headers: { Allow: ALLOW },
          }),
        );
    }
  } catch (err) {
    answerRefusal(res, unavailable(err, ctx, channel));
  }
}
