/**
 * Builds the running channel service from a ChannelConfig: the store (memory or Redis), the service
 * with its endpoints, and the feeds. One owner, one close().
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../observe/log.js';
import type { ChannelConfig } from './config.js';
import { ChannelFeed } from './feed.js';
import { MemoryChannelStore } from './memory-store.js';
import { RedisChannelStore } from './redis-store.js';
import { ChannelService, type Release } from './service.js';
import type { ChannelStats, ChannelStore } from './store.js';

/** How long opening a Redis store waits for the first connection (it keeps retrying after). */
const REDIS_TIMEOUT_MS = 5000;

export interface ChannelEndpoints {
  matches(path: string): boolean;
  request(req: IncomingMessage, res: import('node:http').ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  stats(): ChannelStats;
  close(): Promise<void>;
}

export async function openChannels(
  config: ChannelConfig,
  log: Logger,
  admitSubscriber?: (req: IncomingMessage) => Promise<Release | undefined>,
): Promise<ChannelEndpoints> {
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
    limits: { queueBytes: config.queueBytes, slow: config.slow },
    policy: { allow: config.publishAllow, credentials: config.publishCredentials },
    maxMessageBytes: config.maxBytes,
    admitSubscriber,
  });
  const feeds = config.feeds.map(
    (spec) =>
      new ChannelFeed({ ...spec, mode: config.feedMode, store, log, maxMessageBytes: config.maxBytes }),
  );
  for (const feed of feeds) feed.start();
  log.info('channels.ready', {
    store: store.description,
    pub: `${config.pubPath}/ID`,
    sub: `${config.subPath}/ID`,
    feeds: feeds.length,
  });
  return {
    matches: (path) => service.matches(path),
    request: (req, res) => service.request(req, res),
    upgrade: (req, socket, head) => service.upgrade(req, socket, head),
    stats: () => service.stats(),
    close: async () => {
      await Promise.all(feeds.map((feed) => feed.close()));
      await service.close();
    },
  };
}
