/**
 * The Redis store's connections: one server or a Cluster (the same commands: each channel's keys share a
 * hash slot), (waiting for it, quitting and outage logs: tokens/redis-client.ts).
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** One server, or a Cluster. */
export type Connection = Redis | Cluster;

export function connect(cluster: boolean, options: RedisOptions): Connection {
  if (!cluster) return new Redis(options);
  const {
    host = '127.0.0.1',
    port = 6379,
    enableOfflineQueue,
    retryStrategy,
    db: _db,
    ...redisOptions
  } = options;
  return new Cluster([{ host, port }], {
    redisOptions,
    enableOfflineQueue,
    clusterRetryStrategy: retryStrategy ? (attempt) => retryStrategy(attempt) ?? null : undefined,
    slotsRefreshTimeout: options.connectTimeout,
  });
}
