/**
 * Channel fan-out, wstcp against the real Nchan in one run: one publisher, 1,000 and 10,000 WebSocket
 * subscribers (a swarm in a child process, the same client for both), 64 B and 4 KiB messages.
 *
 * - delivered msgs/s: the publisher posts back to back for `seconds` (one keep-alive connection, each
 *   publish waiting for its answer, as Nchan publishers do); delivered = messages the swarm received,
 *   over the time until the last one arrived (or 15 s more at most).
 * - latency p50/p99: for LATENCY_SECONDS, publishes at a rate that makes 20,000 deliveries per second
 *   (20/s to 1,000 subscribers, 2/s to 10,000), each carrying its send time; the swarm computes
 *   publish-to-delivery for every subscriber. A fixed delivery rate keeps the client's own backlog out of
 *   the figure.
 * - memory per idle subscriber: the server's resident memory after the swarm connected, less before,
 *   divided by the subscribers.
 *
 * Before the figures, each server gets WARMUP_SECONDS of the same back-to-back publishing, as the other
 * sections warm up: a fresh Node process runs its per-publish code in the interpreter at first, which
 * made wstcp's first 3 s phase 5-16% slower than the same phase right after (nginx has nothing to warm).
 *
 * Nchan runs as Debian configures nginx but with one worker (wstcp runs as one process too).
 *
 * Once the subscribers are connected, the server is pinned to the first CPU and the swarm to the second
 * (taskset), as if they ran on different machines; the publisher (this process) runs where it may. Left to
 * the scheduler, the swarm (woken by each of the server's writes) was put on the server's CPU most of the
 * time both wanted one, and the latency figures measured two processes taking turns on one core while the
 * other idled (docs/performance.md).
 */
import { execFileSync } from 'node:child_process';
import { Agent } from 'node:http';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { publishOn } from '../test/helpers/keepalive-publish.js';
import { launchNchan } from '../test/helpers/nchan.js';
import { findProgram } from '../test/helpers/programs.js';
import { Swarm, type SwarmStats } from '../test/helpers/swarm.js';
import { freePort } from './bridges.js';
import { processTree, start, stop, treeCpuSeconds, treeMemory, waitForPort } from './procs.js';

export interface ChannelBenchOptions {
  readonly root: string;
  readonly seconds: number;
  readonly counts: readonly number[];
  readonly sizes: readonly number[];
  /** Runs of everything; the table shows the median of each figure. */
  readonly reps: number;
  progress(line: string): void;
}

const WARMUP_SECONDS = 1;
/**
 * At 10,000 subscribers the latency phase publishes 2 messages a second, and its p99 is in effect the
 * slowest walk over the sockets: 5 s gives 10 walks (2 s, until session 22, gave 4, and single runs of
 * either server moved by 20-40%).
 */
const LATENCY_SECONDS = 5;

interface Server {
  readonly name: 'wstcp' | 'Nchan';
  readonly port: number;
  readonly pid: number;
  close(): Promise<void>;
}

interface Row {
  server: string;
  /** Which run (of --reps) it comes from: the two servers' rows of one run are compared in pairs. */
  rep: number;
  subscribers: number;
  size: number;
  deliveredPerS: number;
  /** Server CPU (user + system) per 100,000 deliveries in the throughput phase. */
  cpuMsPer100k: number;
  p50: number;
  p99: number;
  memoryPerSubKb: number;
}

/** Where the server and the swarm run: their own CPU each when there are two and taskset is there. */
const placement = (() => {
  const taskset = findProgram('taskset');
  return taskset && availableParallelism() >= 2 ? { taskset, server: 0, swarm: 1 } : undefined;
})();

/** Pins every thread of the process tree under `root` to `cpu`. */
function pin(taskset: string, root: number, cpu: number): void {
  for (const pid of processTree(root)) {
    execFileSync(taskset, ['--all-tasks', '--pid', '--cpu-list', String(cpu), String(pid)], {
      stdio: 'ignore',
    });
  }
}

async function startWstcp(root: string): Promise<Server> {
  const port = await freePort();
  // As installed: bin/wstcp's shebang line sets its node flags and malloc tuning.
  const child = start(join(root, 'bin', 'wstcp'), ['--channels', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  await waitForPort(port, 30_000);
  return { name: 'wstcp', port, pid: child.pid as number, close: () => stop(child) };
}

async function startNchan(): Promise<Server | undefined> {
  const nginx = findProgram('nginx');
  if (!nginx) return undefined;
  const peer = await launchNchan(nginx);
  return { name: 'Nchan', port: peer.port, pid: peer.pid as number, close: () => peer.close() };
}

function stamped(size: number): Buffer {
  const body = Buffer.alloc(size, 0x61);
  body.writeDoubleLE(performance.timeOrigin + performance.now(), 0);
  return body;
}

/** Posts back to back for `seconds`; resolves with how many were published. */
async function publishFor(
  server: Server,
  agent: Agent,
  channel: string,
  size: number,
  seconds: number,
): Promise<number> {
  const started = performance.now();
  let published = 0;
  while (performance.now() - started < seconds * 1000) {
    const status = await publishOn(agent, server.port, channel, stamped(size));
    if (status !== 201) throw new Error(`${server.name}: publish answered ${status}`);
    published++;
  }
  return published;
}

/** Waits until the swarm has received `expected` messages (15 s at most); resolves with the last stats. */
async function drained(swarm: Swarm, expected: number): Promise<{ stats: SwarmStats; lastAt: number }> {
  let stats = await swarm.stats();
  let lastCount = stats.messages;
  let lastAt = performance.now();
  const deadline = performance.now() + 15_000;
  while (stats.messages < expected && performance.now() < deadline) {
    await sleep(50);
    stats = await swarm.stats();
    if (stats.messages !== lastCount) {
      lastCount = stats.messages;
      lastAt = performance.now();
    }
  }
  return { stats, lastAt };
}

async function measure(
  server: Server,
  rep: number,
  count: number,
  sizes: readonly number[],
  opts: ChannelBenchOptions,
): Promise<Row[]> {
  const channel = `bench${count}`;
  const before = treeMemory(server.pid).rssKb;
  const swarm = await Swarm.start('127.0.0.1', server.port, `/sub/${channel}`, count);
  const rows: Row[] = [];
  try {
    if (swarm.failed > 0) throw new Error(`${server.name}: ${swarm.failed} of ${count} subscribers failed`);
    if (placement) {
      pin(placement.taskset, server.pid, placement.server);
      pin(placement.taskset, swarm.child.pid as number, placement.swarm);
    }
    await sleep(1000);
    const memoryPerSubKb = (treeMemory(server.pid).rssKb - before) / count;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const atStart = await swarm.stats();
      const warmed = await publishFor(server, agent, channel, sizes[0] ?? 64, WARMUP_SECONDS);
      await drained(swarm, atStart.messages + warmed * count);
      for (const size of sizes) {
        await swarm.stats();
        const startStats = await swarm.stats();
        const cpuBefore = treeCpuSeconds(server.pid);
        const started = performance.now();
        const published = await publishFor(server, agent, channel, size, opts.seconds);
        const { stats, lastAt } = await drained(swarm, startStats.messages + published * count);
        const delivered = stats.messages - startStats.messages;
        const deliveredPerS = delivered / ((lastAt - started) / 1000);
        const cpuAfter = treeCpuSeconds(server.pid);
        const cpuSeconds = cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system;
        const cpuMsPer100k = delivered > 0 ? (cpuSeconds * 1000 * 100_000) / delivered : Number.NaN;
        await sleep(200);
        await swarm.stats();
        const intervalMs = count / 20;
        const latencyStart = performance.now();
        let sent = 0;
        while (performance.now() - latencyStart < LATENCY_SECONDS * 1000) {
          await publishOn(agent, server.port, channel, stamped(size));
          sent++;
          const next = latencyStart + sent * intervalMs;
          await sleep(Math.max(0, next - performance.now()));
        }
        await sleep(500);
        const latency = await swarm.stats();
        rows.push({
          server: server.name,
          rep,
          subscribers: count,
          size,
          deliveredPerS,
          cpuMsPer100k,
          p50: latency.p50,
          p99: latency.p99,
          memoryPerSubKb,
        });
        opts.progress(
          `${server.name} ${count} subs ${size} B: ${Math.round(deliveredPerS)} msg/s delivered (${Math.round(cpuMsPer100k)} ms CPU/100k), p50 ${latency.p50.toFixed(2)} ms, p99 ${latency.p99.toFixed(2)} ms, ${memoryPerSubKb.toFixed(1)} KB/sub`,
        );
      }
    } finally {
      agent.destroy();
    }
  } finally {
    await swarm.close();
  }
  return rows;
}

function medianOf(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** One row per server, subscriber count and size: the median of each figure over the runs. */
function medianRows(rows: readonly Row[]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const key = `${row.server}/${row.subscribers}/${row.size}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as Row;
    const m = (pick: (r: Row) => number) => medianOf(group.map(pick));
    return {
      server: first.server,
      rep: -1, // a median over the runs, not one run
      subscribers: first.subscribers,
      size: first.size,
      deliveredPerS: m((r) => r.deliveredPerS),
      cpuMsPer100k: m((r) => r.cpuMsPer100k),
      p50: m((r) => r.p50),
      p99: m((r) => r.p99),
      memoryPerSubKb: m((r) => r.memoryPerSubKb),
    };
  });
}

function table(rows: readonly Row[]): string {
  const lines = [
    '| subscribers | message | server | delivered msgs/s | server CPU per 100k deliveries | latency p50 | latency p99 | memory per idle subscriber |',
    '|---:|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.subscribers.toLocaleString('en')} | ${r.size >= 1024 ? `${r.size / 1024} KiB` : `${r.size} B`} | ${r.server} | ` +
        `${Math.round(r.deliveredPerS).toLocaleString('en')} | ${Math.round(r.cpuMsPer100k)} ms | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${r.memoryPerSubKb.toFixed(1)} KB |`,
    );
  }
  return lines.join('\n');
}

/**
 * Run by run, how often wstcp was ahead of Nchan in each row (more msgs/s delivered, a lower p99), and the
 * median of wstcp's figure over Nchan's in the same run: the medians alone hide whether one server leads
 * steadily or the two take turns, and a server whose runs fall in two regimes (Nagle coalescing or not)
 * has its median at the edge of one of them.
 */
function runByRun(rows: readonly Row[]): string[] {
  const lines: string[] = [];
  const keys = [...new Set(rows.map((r) => `${r.subscribers}/${r.size}`))];
  for (const key of keys) {
    const of = (server: string) =>
      rows.filter((r) => `${r.subscribers}/${r.size}` === key && r.server === server);
    const nchan = new Map(of('Nchan').map((r) => [r.rep, r]));
    const pairs = of('wstcp').flatMap((w) => {
      const n = nchan.get(w.rep);
      return n ? [[w, n] as const] : [];
    });
    if (pairs.length === 0) continue;
    const [subscribers = 0, size = 0] = key.split('/').map(Number);
    const faster = pairs.filter(([w, n]) => w.deliveredPerS >= n.deliveredPerS).length;
    const lower = pairs.filter(([w, n]) => w.p99 <= n.p99).length;
    const deliveredRatio = medianOf(pairs.map(([w, n]) => w.deliveredPerS / n.deliveredPerS));
    const p99Ratio = medianOf(pairs.map(([w, n]) => w.p99 / n.p99));
    lines.push(
      `- ${subscribers.toLocaleString('en')} subscribers, ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`}: ` +
        `wstcp delivered as many or more in ${faster} of ${pairs.length} runs ` +
        `(median of wstcp / Nchan per run ${deliveredRatio.toFixed(2)}), ` +
        `had as low a p99 or lower in ${lower} of ${pairs.length} (${p99Ratio.toFixed(2)})`,
    );
  }
  return lines;
}

/** Runs the fan-out figures for wstcp and (when installed) Nchan; returns the markdown section. */
export async function channelFanout(opts: ChannelBenchOptions): Promise<string> {
  const rows: Row[] = [];
  for (let rep = 0; rep < opts.reps; rep++) {
    for (const count of opts.counts) {
      // Alternate which server goes first, so drift on the machine hits both alike.
      const launchers = [() => startWstcp(opts.root), startNchan];
      for (const launch of rep % 2 === 0 ? launchers : launchers.reverse()) {
        const server = await launch();
        if (!server) {
          opts.progress('Nchan is not installed (apt-get install nginx libnginx-mod-nchan): wstcp only');
          continue;
        }
        try {
          rows.push(...(await measure(server, rep, count, opts.sizes, opts)));
        } finally {
          await server.close();
        }
      }
    }
  }
  const medians = medianRows(rows);
  medians.sort(
    (a, b) => a.subscribers - b.subscribers || a.size - b.size || a.server.localeCompare(b.server),
  );
  const where = placement
    ? `the server pinned to CPU ${placement.server}, the swarm to CPU ${placement.swarm}`
    : 'not pinned (one CPU, or no taskset)';
  const tally = runByRun(rows);
  return (
    `Channel fan-out (one publisher posting back to back for ${opts.seconds} s; latency at 20,000 deliveries/s; ` +
    `WebSocket subscribers in one client process, the same for both servers; ${where}; ` +
    `medians of ${opts.reps} run(s)):\n\n${table(medians)}` +
    (tally.length > 0
      ? `\n\nRun by run (each run measures both servers in turn):\n\n${tally.join('\n')}`
      : '')
  );
}
