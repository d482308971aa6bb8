/**
 * A feed's source when TARGET is `host:port` or `unix_socket:/path`: each run is one connection, over once
 * the target ends it, refuses it or fails.
 */
import { connect, type Socket } from 'node:net';
import { describeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { formatTarget } from '../targets/registry.js';
import type { FeedRun, FeedRunEvents, FeedSource, SocketFeedTarget } from './feed.js';

export class SocketFeedSource implements FeedSource {
  constructor(
    private readonly target: SocketFeedTarget,
    private readonly channel: string,
    private readonly log: Logger,
  ) {}

  start(events: FeedRunEvents): FeedRun {
    const { target, channel, log } = this;
    const label = formatTarget(target);
    const socket: Socket = target.kind === 'unix' ? connect(target.path) : connect(target.port, target.host);
    let connected = false;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('connect', () => {
      connected = true;
      events.up('channel.feed_connected', { target: label });
    });
    socket.on('data', (chunk: Buffer) => events.data(chunk));
    socket.on('error', (err) => log.debug('channel.feed_error', { channel, error: describeError(err) }));
    socket.once('close', () =>
      events.down({
        event: 'channel.feed_lost',
        level: connected ? 'warn' : 'debug',
        fields: { target: label },
      }),
    );
    return {
      pause: () => socket.pause(),
      resume: () => socket.resume(),
      stop: async () => {
        socket.destroy();
        await closed;
      },
    };
  }
}
