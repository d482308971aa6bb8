/**
 * --limits-store redis://...: connection slots shared by every wstcp instance. Each slot is a lease, a
 * member of a sorted set per key scored by its expiry; the instance renews its leases while the
 * sessions live, so the slots of an instance that dies come back once its leases expire (a crash never
 * leaks slots). Expiries use the Redis server's clock, so instances need not agree on the time.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { ConfigError } from '../errors.js';
import type { Release } from './pipeline.js';
import { once, type SlotCounter } from './slots.js';

const DEFAULT_LEASE_MS = 15_000;

/** Takes a lease when fewer than ARGV[2] unexpired ones exist. KEYS[1]: the set; ARGV: lease ms, max, member. */
const TAKE = `
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[1]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1`;

/** Extends the leases ARGV[2..] in the sets KEYS[1..] (same order) by ARGV[1] ms from now, if still held. */
const RENEW = `
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
for i, key in ipairs(KEYS) do
  if redis.call('ZADD', key, 'XX', 'CH', ms + tonumber(ARGV[1]), ARGV[i + 1]) >= 0 then
    redis.call('PEXPIRE', key, tonumber(ARGV[1]))
  end
end
return #KEYS`;

export interface RedisSlotsOptions {
  /** How long a lease lives without renewal (`?lease=SECONDS` in the URL; 15 s by default). */
  readonly leaseMs: number;
  readonly prefix: string;
}

/** Parses `redis[s]://[user:pass@]host[:port][/db][?lease=SECONDS&prefix=NAME]`. */
export function parseLimitsStore(text: string): { url: string; options: RedisSlotsOptions } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError('--limits-store: not a valid redis:// URL');
  }
  const lease = url.searchParams.get('lease');
  const leaseMs = lease === null ? DEFAULT_LEASE_MS : Number(lease) * 1000;
  if (!Number.isFinite(leaseMs) || leaseMs < 1000)
    throw new ConfigError('--limits-store: lease must be 1 s or more');
  const prefix = url.searchParams.get('prefix') ?? 'wstcp:limits:';
  url.search = '';
  return { url: url.toString(), options: { leaseMs, prefix } };
}

export class RedisSlots implements SlotCounter {
  private readonly client: Redis;
  /** Live leases of this instance: member -> set key. */
  private readonly leases = new Map<string, string>();
  private readonly renewTimer: NodeJS.Timeout;
  private readonly instance = randomUUID();

  constructor(
    url: string,
    private readonly options: RedisSlotsOptions,
  ) {
    // Fail fast: a handshake waits for the answer, and a refusal (503) beats a hang.
    this.client = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
    this.client.on('error', () => {});
    this.client.defineCommand('wstcpTake', { numberOfKeys: 1, lua: TAKE });
    this.client.defineCommand('wstcpRenew', { lua: RENEW });
    this.renewTimer = setInterval(() => void this.renew(), Math.max(250, options.leaseMs / 3));
    this.renewTimer.unref();
  }

  /** Resolves once connected, or after `timeoutMs` (handshakes are refused with 503 until it is). */
  connected(timeoutMs: number): Promise<void> {
    if (this.client.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.client.once('ready', done);
    });
  }

  async take(key: string, max: number): Promise<Release | undefined> {
    const setKey = `${this.options.prefix}${key}`;
    const member = `${this.instance}:${randomUUID()}`;
    const taken = (await (this.client as unknown as RedisScripts).wstcpTake(
      setKey,
      this.options.leaseMs,
      max,
      member,
    )) as number;
    if (taken !== 1) return undefined;
    this.leases.set(member, setKey);
    return once(() => {
      this.leases.delete(member);
      this.client.zrem(setKey, member).catch(() => {
        // Unreachable now: the lease expires by itself.
      });
    });
  }

  async problem(): Promise<string | undefined> {
    try {
      await this.client.ping();
      return undefined;
    } catch {
      return 'the --limits-store Redis is unreachable';
    }
  }

  async close(): Promise<void> {
    clearInterval(this.renewTimer);
    const held = [...this.leases];
    this.leases.clear();
    if (held.length > 0) {
      const pipeline = this.client.pipeline();
      for (const [member, key] of held) pipeline.zrem(key, member);
      await pipeline.exec().catch(() => undefined);
    }
    this.client.disconnect();
  }

  private async renew(): Promise<void> {
    if (this.leases.size === 0) return;
    const keys = [...this.leases.values()];
    const members = [...this.leases.keys()];
    await (this.client as unknown as RedisScripts)
      .wstcpRenew(keys.length, ...keys, this.options.leaseMs, ...members)
      .catch(() => {
        // Redis unreachable: the next renewal tries again; leases not renewed in time expire.
      });
  }
}

interface RedisScripts {
  wstcpTake(key: string, leaseMs: number, max: number, member: string): Promise<unknown>;
  wstcpRenew(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
}
