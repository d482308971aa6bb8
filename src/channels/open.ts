/**
 * Builds the running channel service from a ChannelConfig: the store (memory or Redis), the service
 * with its endpoints, and the feeds. One owner, one close().
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ConfigError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import type { ChannelConfig } from './config.js';
import { ChannelFeed, type FeedSource } from './feed.js';
import { SocketFeedSource } from './feed-source-socket.js';
import { MemoryChannelStore } from './memory-store.js';
import { RedisChannelStore } from './redis-store.js';
import { ChannelService, type Release } from './service.js';
import type { ChannelStats, ChannelStore } from './store.js';

/** How long opening a Redis store waits for the first connection (it keeps retrying after). */
const REDIS_TIMEOUT_MS = 5000;

export interface ChannelEndpoints {
  /** `path`: the request's path as the front door routed it. */
  request(req: IncomingMessage, res: import('node:http').ServerResponse, path: string): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): void;
  stats(): ChannelStats;
  close(): Promise<void>;
}

export async function openChannels(
  config: ChannelConfig,
  log: Logger,
  admitSubscriber?: (req: IncomingMessage) => Promise<Release | undefined>,
): Promise<ChannelEndpoints> {
  // Before anything is opened: a feed's program that cannot be found stops the start (exit 2).
  const sources = await feedSources(config, log);
  const limits = { maxMessages: config.bufferLength, ttlMs: config.ttlMs, maxBytes: config.maxBytes };
  const store: ChannelStore = config.store
    ? await RedisChannelStore.open({
        location: config.store,
        cluster: config.storeCluster,
        log,
        timeoutMs: REDIS_TIMEOUT_MS,
        ...limits,
      })
    : new MemoryChannelStore({ ...limits, maxChannels: config.maxChannels, log });
  const service = new ChannelService({
    store,
    log,
    pubPath: config.pubPath,
    subPath: config.subPath,
    first: config.first,
    limits: { queueBytes: config.queueBytes, slow: config.slow, noDelay: config.noDelay },
    policy: { allow: config.publishAllow, credentials: config.publishCredentials },
    maxMessageBytes: config.maxBytes,
    admitSubscriber,
  });
  const feeds = config.feeds.map(
    ({ channel }, i) =>
      new ChannelFeed({
        channel,
        source: sources[i]!,
        mode: config.feedMode,
        store,
        log,
        maxMessageBytes: config.maxBytes,
      }),
  );
  for (const feed of feeds) feed.start();
  log.info('channels.ready', {
    store: store.description,
    pub: `${config.pubPath}/ID`,
    sub: `${config.subPath}/ID`,
    feeds: feeds.length,
  });
  return {
    request: (req, res, path) => service.request(req, res, path),
    upgrade: (req, socket, head, path) => service.upgrade(req, socket, head, path),
    stats: () => service.stats(),
    close: async () => {
      await Promise.all(feeds.map((feed) => feed.close()));
      await service.close();
    },
  };
}

/**
 * One source per --channel-feed. A command's program is looked up on PATH once, here, as --cmd's is: each
 * start then runs that path. The command modules load only when a feed runs a command.
 */
async function feedSources(config: ChannelConfig, log: Logger): Promise<FeedSource[]> {
  const sources: FeedSource[] = [];
  for (const { channel, target } of config.feeds) {
    if (target.kind !== 'command') {
      sources.push(new SocketFeedSource(target, channel, log));
      continue;
    }
    const { CommandFeedSource, resolveFeedProgram } = await import('./feed-source-command.js');
    const [program, ...args] = target.argv;
    const found = await resolveFeedProgram(program!);
    if (!found)
      throw new ConfigError(`--channel-feed ${channel}: ${program} was not found or is not executable`);
    sources.push(new CommandFeedSource({ channel, argv: [found, ...args], ...config.feedPrograms, log }));
  }
  return sources;
}
