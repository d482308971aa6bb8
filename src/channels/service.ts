/**
 * The channel endpoints on a wstcp listener: `/pub/ID` (HTTP publishing and channel info, or a WebSocket
 * publisher) and `/sub/ID[,ID...]` (a WebSocket, EventSource or long-poll subscriber, by request). It
 * owns every subscriber connection and the store, and ends them all in close().
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { loggedPath } from '../admission/request-url.js';
import { describeError, HttpError, refuse } from '../errors.js';
import { acceptUpgrade } from '../front/handshake.js';
import { answerRefusal } from '../front/refusal.js';
import type { Logger } from '../observe/log.js';
import type { FirstMessage } from './buffer.js';
import { corsHeaders, longPollCorsHeaders, preflightHeaders } from './cors.js';
import {
  channelIds,
  channelPath,
  endpointPrefixes,
  isEndpointPath,
  resumePosition,
} from './endpoint-path.js';
import { EventSourceSubscriber } from './eventsource.js';
import { LongPollSubscriber, longPollPosition } from './longpoll.js';
import { checkPublisher, type PublishPolicy } from './publish-gate.js';
import { handlePublisherRequest } from './publisher.js';
import type { ChannelStats, ChannelStore } from './store.js';
import { type ResumeFrom, type SubscriberSink, Subscription } from './subscription.js';
import { servePublisherSocket } from './ws-publisher.js';
import { type SubscriberLimits, WsSubscriber } from './ws-subscriber.js';

/** Undoes what a gate counted (a live connection). */
export type Release = () => void;

export interface ChannelServiceOptions {
  readonly store: ChannelStore;
  readonly log: Logger;
  /** `/pub` and `/sub` by default (--channel-pub-path, --channel-sub-path). */
  readonly pubPath: string;
  readonly subPath: string;
  readonly first: FirstMessage;
  readonly limits: SubscriberLimits;
  readonly policy: PublishPolicy;
  readonly maxMessageBytes: number;
  /**
   * The bridge's gates for subscribers (origin, basic auth, limits): rejects with an HttpError, or
   * resolves to a release to run once when the subscriber leaves.
   */
  readonly admitSubscriber?: (req: IncomingMessage) => Promise<Release | undefined>;
}

const KEY_PATTERN = /^[+/0-9A-Za-z]{22}==$/;
/** Nchan's subprotocol for messages with their id and content type in front. */
const META_PROTOCOL = 'ws+meta.nchan';

/** Throws 400 unless `req` is a well-formed WebSocket handshake; returns the subprotocol to answer. */
function checkChannelUpgrade(req: IncomingMessage): string {
  if (req.method !== 'GET') throw refuse('BAD_HANDSHAKE', 'a WebSocket handshake must use GET');
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    throw refuse('BAD_HANDSHAKE', 'the Upgrade header must be "websocket"');
  }
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || !KEY_PATTERN.test(key.trim())) {
    throw refuse('BAD_HANDSHAKE', 'missing or invalid Sec-WebSocket-Key header');
  }
  if (req.headers['sec-websocket-version'] !== '13') {
    throw refuse('BAD_HANDSHAKE', 'unsupported Sec-WebSocket-Version (13 is required)', {
      headers: { 'Sec-WebSocket-Version': '13' },
    });
  }
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  return offered.includes(META_PROTOCOL) ? META_PROTOCOL : '';
}

/** Shared by every subscriber socket: a closure here would keep the whole handshake (req) alive. */
function destroyOnError(this: Socket): void {
  this.destroy();
}

function label(req: IncomingMessage): string {
  const { remoteAddress, remotePort } = req.socket;
  return remoteAddress?.includes(':') ? `[${remoteAddress}]:${remotePort}` : `${remoteAddress}:${remotePort}`;
}

function asRefusal(err: unknown, log: Logger, channels: readonly string[]): HttpError {
  if (err instanceof HttpError) return err;
  log.warn('channel.store_failed', { channel: channels.join(','), error: describeError(err) });
  return refuse('STORE_UNAVAILABLE', 'the channel store is unavailable, try again later', {
    cause: err,
  });
}

export class ChannelService {
  private readonly prefixes: readonly [string, string];
  private readonly pubPrefix: string;
  private readonly subPrefix: string;
  /** Ends each open subscriber and publisher connection (close()). */
  private readonly open = new Set<{ shutdown(): void }>();
  private readonly publisherSockets: WebSocketServer;
  private closing = false;

  constructor(private readonly options: ChannelServiceOptions) {
    // A publisher's message larger than a channel holds is refused by ws with 1009 before it is buffered.
    this.publisherSockets = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.maxMessageBytes,
    });
    this.prefixes = endpointPrefixes(options.pubPath, options.subPath);
    [this.pubPrefix, this.subPrefix] = this.prefixes;
  }

  /** Whether `path` (a request's parsed path: front/request-url.ts) is a publisher or subscriber endpoint. */
  matches(path: string): boolean {
    return isEndpointPath(path, this.prefixes);
  }

  stats(): ChannelStats {
    return this.options.store.stats();
  }

  /** Serves a request on `routedPath`, a path matches() took. */
  request(req: IncomingMessage, res: ServerResponse, routedPath: string): void {
    const path = channelPath(routedPath);
    if (path.startsWith(this.pubPrefix)) this.publisherRequest(req, res, path);
    else void this.subscriberRequest(req, res, path);
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, routedPath: string): void {
    const path = channelPath(routedPath);
    if (path.startsWith(this.pubPrefix)) this.publisherUpgrade(req, socket, head, path);
    else void this.subscriberUpgrade(req, socket as Socket, head, path);
  }

  /** Ends every subscriber (1001 for WebSockets) after what was published to it, and closes the store. */
  async close(): Promise<void> {
    this.closing = true;
    this.options.store.flush();
    for (const connection of [...this.open]) connection.shutdown();
    this.open.clear();
    await this.options.store.close();
  }

  private publisherRequest(req: IncomingMessage, res: ServerResponse, path: string): void {
    const ids = channelIds(path, this.pubPrefix, false);
    const refusal = ids instanceof HttpError ? ids : checkPublisher(req, this.options.policy);
    if (refusal) {
      this.refused(req, refusal);
      req.resume();
      answerRefusal(res, refusal);
      return;
    }
    const { store, log, maxMessageBytes } = this.options;
    void handlePublisherRequest(req, res, (ids as string[])[0] as string, { store, log, maxMessageBytes });
  }

  private publisherUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): void {
    const ids = channelIds(path, this.pubPrefix, false);
    const refusal = ids instanceof HttpError ? ids : checkPublisher(req, this.options.policy);
    if (refusal || this.closing) {
      const err = refusal ?? refuse('SHUTTING_DOWN', 'shutting down');
      this.refused(req, err);
      answerRefusal(socket, err);
      return;
    }
    const channel = (ids as string[])[0] as string;
    this.publisherSockets.handleUpgrade(req, socket, head, (ws) => {
      const connection = { shutdown: () => ws.close(1001, 'server shutting down') };
      this.open.add(connection);
      ws.once('close', () => this.open.delete(connection));
      servePublisherSocket(ws, channel, this.options.store, this.options.log);
    });
  }

  private async subscriberRequest(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const ids = channelIds(path, this.subPrefix, true);
    if (ids instanceof HttpError) return this.refuseRequest(req, res, ids);
    if (req.method === 'OPTIONS') {
      req.resume();
      res.writeHead(200, { ...preflightHeaders(req), 'Content-Length': 0 }).end();
      return;
    }
    if (req.method !== 'GET') {
      return this.refuseRequest(
        req,
        res,
        refuse('METHOD_NOT_ALLOWED', `${req.method} is not allowed on a subscriber endpoint`, {
          headers: { Allow: 'GET' },
        }),
      );
    }
    let release: Release | undefined;
    try {
      release = await this.admit(req);
    } catch (err) {
      return this.refuseRequest(req, res, asRefusal(err, this.options.log, ids));
    }
    const { store, limits, log } = this.options;
    const refuseWith = (err: HttpError) => this.refuseRequest(req, res, err);
    if ((req.headers.accept ?? '').includes('text/event-stream')) {
      const sink = new EventSourceSubscriber(res, limits, log, label(req));
      const subscription = new Subscription(store, ids, sink);
      await this.attach(subscription, sink, 'eventsource', resumePosition(req, ids.length), res, {
        refuse: refuseWith,
        accept: () => sink.begin(corsHeaders(req)),
        release,
      });
      return;
    }
    const from =
      longPollPosition(req.headers['if-modified-since'], req.headers['if-none-match'], ids.length) ??
      resumePosition(req, ids.length);
    let subscription: Subscription | undefined;
    const sink = new LongPollSubscriber(res, longPollCorsHeaders(req), () => subscription?.close());
    subscription = new Subscription(store, ids, sink);
    await this.attach(subscription, sink, 'longpoll', from, res, {
      refuse: refuseWith,
      accept: () => {},
      release,
    });
  }

  private async subscriberUpgrade(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    path: string,
  ): Promise<void> {
    const { store, limits, log } = this.options;
    let protocol: string;
    try {
      protocol = checkChannelUpgrade(req);
      if (this.closing) throw refuse('SHUTTING_DOWN', 'shutting down');
    } catch (err) {
      return this.refuseUpgrade(req, socket, asRefusal(err, log, []));
    }
    const ids = channelIds(path, this.subPrefix, true);
    if (ids instanceof HttpError) return this.refuseUpgrade(req, socket, ids);
    let release: Release | undefined;
    try {
      release = await this.admit(req);
    } catch (err) {
      return this.refuseUpgrade(req, socket, asRefusal(err, log, ids));
    }
    const sink = new WsSubscriber(socket, protocol === META_PROTOCOL, limits, log, label(req));
    const subscription = new Subscription(store, ids, sink);
    socket.on('error', destroyOnError);
    await this.attach(subscription, sink, 'websocket', resumePosition(req, ids.length), socket, {
      refuse: (err) => this.refuseUpgrade(req, socket, err),
      accept: () => {
        acceptUpgrade(socket, req, protocol);
        sink.attach(head);
      },
      release,
    });
  }

  /** Runs the gates for a subscriber; the release (limits count live connections) runs when it leaves. */
  private async admit(req: IncomingMessage): Promise<Release | undefined> {
    if (this.closing) throw refuse('SHUTTING_DOWN', 'shutting down');
    return (await this.options.admitSubscriber?.(req)) ?? undefined;
  }

  /**
   * Starts `subscription` from `from`; on success the transport accepts (`accept`: headers or the 101)
   * and the buffered messages follow; when the store fails the client is refused (503). The connection's
   * close ends the subscription and runs `release` once.
   */
  private async attach(
    subscription: Subscription,
    sink: SubscriberSink,
    transport: string,
    from: ResumeFrom | undefined,
    connection: {
      once(event: 'close', f: () => void): unknown;
      removeListener(event: 'close', f: () => void): unknown;
      readonly destroyed: boolean;
    },
    how: {
      refuse: (err: HttpError) => void;
      accept: () => void;
      release: Release | undefined;
    },
  ): Promise<void> {
    const { release } = how;
    let released = false;
    const left = () => {
      this.left(subscription, sink, transport);
      if (!released) {
        released = true;
        release?.();
      }
    };
    connection.once('close', left);
    try {
      await subscription.start(from, this.options.first);
    } catch (err) {
      connection.removeListener('close', left);
      left();
      return how.refuse(asRefusal(err, this.options.log, subscription.channels));
    }
    if (connection.destroyed) return left();
    this.joined(subscription, sink, transport);
    how.accept();
    subscription.open();
  }

  private joined(subscription: Subscription, sink: SubscriberSink, transport: string): void {
    this.open.add(sink);
    this.options.log.debug('channel.subscriber_joined', {
      channel: subscription.channels.join(','),
      transport,
    });
  }

  private left(subscription: Subscription, sink: SubscriberSink, transport: string): void {
    subscription.close();
    if (this.open.delete(sink)) {
      this.options.log.debug('channel.subscriber_left', {
        channel: subscription.channels.join(','),
        transport,
      });
    }
  }

  private refused(req: IncomingMessage, err: HttpError): void {
    this.options.log.warn('channel.refused', {
      client: label(req),
      path: loggedPath(req.url, false),
      status: err.status,
      code: err.code,
      reason: err.message,
    });
  }

  private refuseRequest(req: IncomingMessage, res: ServerResponse, err: HttpError): void {
    this.refused(req, err);
    req.resume();
    answerRefusal(res, err);
  }

  private refuseUpgrade(req: IncomingMessage, socket: Duplex, err: HttpError): void {
    this.refused(req, err);
    answerRefusal(socket, err);
  }
}
