/**
 * Pool fixtures: real loopback TCP servers that count the connections they get, a pool naming them, and
 * the Pools of a bridge with its log captured.
 */
import type { Socket } from 'node:net';
import { connectTarget } from '../../src/connect.js';
import { Logger } from '../../src/log.js';
import type { BalanceMethod } from '../../src/targets/pool/balance.js';
import { socketProbe } from '../../src/targets/pool/health-probe.js';
import type { PoolMember } from '../../src/targets/pool/pool-target.js';
import { Pools } from '../../src/targets/pool/pools.js';
import { startTcpServer, type TcpTarget } from './bridge.js';

/** Servers that hold every connection open and count them. */
export async function startMembers(n: number): Promise<TcpTarget[]> {
  return Promise.all(Array.from({ length: n }, () => startTcpServer(() => {})));
}

export interface TestPools {
  readonly pools: Pools;
  /** Every log line, as JSON objects. */
  readonly logs: Array<Record<string, unknown>>;
}

export function makePools(
  options: {
    method?: BalanceMethod;
    maxFails?: number;
    failTimeoutMs?: number;
    healthIntervalMs?: number;
  } = {},
): TestPools {
  const logs: Array<Record<string, unknown>> = [];
  const log = new Logger({ level: 'debug', format: 'json', sink: (line) => logs.push(JSON.parse(line)) });
  const pools = new Pools({
    method: options.method ?? 'round-robin',
    maxFails: options.maxFails ?? 1,
    failTimeoutMs: options.failTimeoutMs ?? 10_000,
    healthIntervalMs: options.healthIntervalMs ?? 0,
    probeTimeoutMs: 1000,
    probe: socketProbe(undefined),
    log,
  });
  return { pools, logs };
}

/** Opens a member the way the bridge does (plain TCP, by its deadline). */
export function openMember(signal?: AbortSignal): (member: PoolMember, deadline: number) => Promise<Socket> {
  return (member, deadline) =>
    connectTarget(member.target, {
      timeoutMs: Math.max(1, deadline - Date.now()),
      ...(signal ? { signal } : {}),
    });
}
