/**
 * Pool fixtures: real loopback TCP servers that count the connections they get, a pool naming them, and
 * the Pools of a bridge with its log captured.
 */
import { Logger } from '../../src/observe/log.js';
import type { BalanceMethod } from '../../src/targets/pool/balance.js';
import { socketProbe } from '../../src/targets/pool/health-probe.js';
import type { PoolMember } from '../../src/targets/pool/pool-target.js';
import { Pools } from '../../src/targets/pool/pools.js';
import type { TargetStream } from '../../src/targets/target.js';
import { tcpKind } from '../../src/targets/tcp.js';
import { unixKind } from '../../src/targets/unix.js';
import { startTcpServer, type TcpTarget } from './bridge.js';
import { handshake } from './tokens.js';

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
    forgetIdleMs?: number;
  } = {},
): TestPools {
  const logs: Array<Record<string, unknown>> = [];
  const log = new Logger({ level: 'debug', format: 'json', sink: (line) => logs.push(JSON.parse(line)) });
  const pools = new Pools({
    method: options.method ?? 'round-robin',
    maxFails: options.maxFails ?? 1,
    failTimeoutMs: options.failTimeoutMs ?? 10_000,
    healthIntervalMs: options.healthIntervalMs ?? 0,
    ...(options.forgetIdleMs === undefined ? {} : { forgetIdleMs: options.forgetIdleMs }),
    probeTimeoutMs: 1000,
    probe: socketProbe(undefined),
    log,
  });
  return { pools, logs };
}

/** Opens a member the way the bridge does (plain sockets, by its deadline). */
export function openMember(
  signal: AbortSignal = new AbortController().signal,
): (member: PoolMember, deadline: number) => Promise<TargetStream> {
  return (member, deadline) => {
    const options = { deadline, signal, ctx: handshake('/'), preferIpv6: false, tls: undefined };
    return member.target.kind === 'unix'
      ? unixKind.open(member.target, options)
      : tcpKind.open(member.target, options);
  };
}

export interface NamedMember {
  readonly name: string;
  readonly server: TcpTarget;
  /** host:port of the member. */
  readonly address: string;
}

/**
 * Members that greet each connection with their name and a newline, then echo: a session can tell which
 * member it reached and stay open as long as the test wants (least-conn, live sessions across changes).
 */
export async function startNamedMembers(names: readonly string[]): Promise<NamedMember[]> {
  return Promise.all(
    names.map(async (name) => {
      const server = await startTcpServer((socket) => {
        socket.write(`${name}\n`);
        socket.pipe(socket);
      });
      return { name, server, address: `127.0.0.1:${server.port}` };
    }),
  );
}

/** The JSON log lines of a bridge started with --log-format json, with this `event`. */
export function logEvents(logs: readonly string[], event: string): Array<Record<string, unknown>> {
  return logs
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.event === event);
}
