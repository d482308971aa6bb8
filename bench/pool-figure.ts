/**
 * What a pool costs (issue 16): the session rate of wstcp in front of a 3-member pool (round-robin, the
 * default), against the same wstcp in front of one target. Opening a session through a pool adds the member
 * pick and its bookkeeping to every handshake; the goal is that this costs at most 5% of the rate. The two
 * bridges alternate which runs first on each repetition.
 *
 * Each repetition runs both back to back, and the figure is the median of their ratios: on a shared machine
 * the load drifts between repetitions by more than 5%, much less within one pair.
 *
 * The three members are three spellings of the one C echo target (127.0.0.1, and IPv4-mapped IPv6 literals
 * of it): with three target processes instead, the pool would get three times the target's share of a busy
 * machine's CPU, and look faster than one target.
 */

import { silentLogger } from '../src/observe/log.js';
import { PoolStream } from '../src/targets/pool/pool-stream.js';
import { parsePool } from '../src/targets/pool/pool-target.js';
import { Pools } from '../src/targets/pool/pools.js';
import type { TargetOwner, TargetStream } from '../src/targets/target.js';
import { startBridgeRetrying as startBridge } from './bridges.js';
import type { Context } from './figures.js';
import { type RateResult, runLoad } from './load.js';
import { treeCpuSeconds } from './procs.js';
import { median } from './report.js';

export interface PoolFigure {
  /** CPU microseconds the pool's own work adds to one session, measured in process (see poolWorkUs). */
  workUs: number;
  /** Sessions per second of each run. */
  single: number[];
  pool: number[];
  /** The bridge's CPU microseconds per session of each run (less swayed by other load on the machine). */
  singleCpuUs: number[];
  poolCpuUs: number[];
}

const GOAL = 0.95;

export async function poolFigure(ctx: Context): Promise<PoolFigure> {
  const { settings, tools } = ctx;
  const figure: PoolFigure = {
    workUs: await poolWorkUs(),
    single: [],
    pool: [],
    singleCpuUs: [],
    poolCpuUs: [],
  };
  const port = ctx.echoPort;
  const members = `127.0.0.1:${port},[::ffff:127.0.0.1]:${port},[::ffff:7f00:1]:${port}`;
  const single = await startBridge('wstcp', port, ctx.setup);
  const pool = await startBridge('wstcp', port, ctx.setup, { target: members });
  try {
    const args = ['--warmup', String(settings.warmup), '--sessions', String(settings.rateThreads)];
    for (let rep = 0; rep < settings.reps; rep++) {
      const runs = rep % 2 === 0 ? (['single', 'pool'] as const) : (['pool', 'single'] as const);
      for (const which of runs) {
        const bridge = which === 'single' ? single : pool;
        const cpu0 = treeCpuSeconds(bridge.pid);
        const r = await runLoad<RateResult>(
          tools.wsload,
          'rate',
          { port: bridge.port },
          args,
          settings.seconds,
        );
        const cpu1 = treeCpuSeconds(bridge.pid);
        figure[which].push(r.per_s);
        // The warm-up's sessions are not counted but cost CPU alike on both sides.
        const cpuUs = ((cpu1.user - cpu0.user + cpu1.system - cpu0.system) * 1e6) / Math.max(1, r.sessions);
        figure[which === 'single' ? 'singleCpuUs' : 'poolCpuUs'].push(cpuUs);
        ctx.progress(`pool: ${which} ${r.per_s} sessions/s${r.failed ? ` (${r.failed} failed)` : ''}`);
      }
    }
  } finally {
    await Promise.all([single.stop(), pool.stop()]);
  }
  return figure;
}

/**
 * The pool's own work for one session, alone: picking a member, its bookkeeping, the stream wrapper, and the
 * session's end, with a member that "connects" at once. CPU time (not wall time) of many sessions, so
 * that other load on the machine barely sways it; added to the bridge's CPU per session, it is what a pool
 * costs.
 */
export async function poolWorkUs(sessions = 100_000): Promise<number> {
  const pools = new Pools({
    method: 'round-robin',
    maxFails: 1,
    failTimeoutMs: 10_000,
    healthIntervalMs: 0,
    probeTimeoutMs: 1000,
    probe: async () => true,
    log: silentLogger,
  });
  const pool = parsePool('127.0.0.1:5901,127.0.0.1:5902,127.0.0.1:5903')!;
  const signal = new AbortController().signal;
  let owner: TargetOwner | undefined;
  const member = {
    attach: (o: TargetOwner) => {
      owner = o;
    },
  } as unknown as TargetStream;
  const quiet: TargetOwner = {
    targetData: () => false,
    targetDrained: () => {},
    targetEnd: () => {},
    targetError: () => {},
    targetClose: () => {},
  };
  const run = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const opened = await pools.open(pool, {
        deadline: Date.now() + 10_000,
        signal,
        key: undefined,
        openMember: async () => member,
      });
      new PoolStream(opened.stream, opened.ended).attach(quiet);
      owner?.targetClose();
    }
  };
  await run(sessions / 10);
  const before = process.cpuUsage();
  await run(sessions);
  const used = process.cpuUsage(before);
  pools.close();
  return (used.user + used.system) / sessions;
}

/** pool / single of each repetition, in order. */
function ratios(pool: readonly number[], single: readonly number[]): number[] {
  return pool.flatMap((p, i) => (single[i] ? [p / single[i]!] : []));
}

function spread(values: readonly number[]): string {
  const m = median(values);
  if (m === undefined) return 'n/a';
  return `${m.toFixed(3)}x (${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)})`;
}

/** The figure as a markdown table. */
export function poolTable(figure: PoolFigure): string {
  const rate = ratios(figure.pool, figure.single);
  const cpu = ratios(figure.poolCpuUs, figure.singleCpuUs);
  const m = median(rate);
  const perS = (v: number | undefined) => (v === undefined ? 'n/a' : `${v.toFixed(0)} /s`);
  const us = (v: number | undefined) => (v === undefined ? 'n/a' : `${v.toFixed(0)} us`);
  return [
    '| | one target | 3-member pool | pool / one target, per repetition: median (range) | goal | met |',
    '|---|---:|---:|---|---|---|',
    `| new sessions/s | ${perS(median(figure.single))} | ${perS(median(figure.pool))} | ${spread(rate)} | >= ${GOAL}x | ${m === undefined ? '' : m >= GOAL ? 'yes' : 'NO'} |`,
    `| bridge CPU per session | ${us(median(figure.singleCpuUs))} | ${us(median(figure.poolCpuUs))} | ${spread(cpu)} | | |`,
    '',
    `${figure.pool.length} repetitions. The pool's own work, measured alone in process: ` +
      `${figure.workUs.toFixed(1)} us of CPU per session` +
      (median(figure.singleCpuUs)
        ? ` (${((100 * figure.workUs) / median(figure.singleCpuUs)!).toFixed(2)}% of the bridge's CPU per session).`
        : '.'),
  ].join('\n');
}
