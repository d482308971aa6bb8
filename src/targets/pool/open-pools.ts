/**
 * Config -> the Pools of a bridge (pools.ts), when it can meet a pool at all: its fixed target is one, or
 * a token store may name one. The command line's pool is tracked from the start, so that active health
 * checks know its members before the first session.
 */
import type { ConnectionOptions } from 'node:tls';
import type { Config } from '../../config/config.js';
import type { Logger } from '../../observe/log.js';
import { tokenFromRequest } from '../../tokens/token-from-request.js';
import { socketProbe } from './health-probe.js';
import type { PoolTarget } from './pool-target.js';
import { Pools } from './pools.js';

export function openPools(
  config: Config,
  log: Logger,
  targetTls: ConnectionOptions | undefined,
): Pools | undefined {
  const fixed = config.target?.kind === 'pool' ? (config.target as PoolTarget) : undefined;
  const tokens = config.tokens;
  if (fixed === undefined && tokens === undefined) return undefined;
  const pools = new Pools({
    ...config.pools,
    probeTimeoutMs: config.connectTimeoutMs,
    probe: socketProbe(targetTls),
    log,
    tokenOf: tokens ? (ctx) => tokenFromRequest(ctx.url, ctx.req.headers, tokens.hostToken) : undefined,
  });
  if (fixed) pools.pin(fixed);
  return pools;
}
