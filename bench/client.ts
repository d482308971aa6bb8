/**
 * The client side: the same traffic three ways, to see what `wstcp forward` adds on top of the server.
 *
 *   direct:   load generator --TCP--> echo target
 *   server:   load generator --WebSocket--> wstcp --TCP--> echo target
 *   forward:  load generator --TCP--> wstcp forward --WebSocket--> wstcp --TCP--> echo target
 *
 * The server's overhead is direct/server (throughput) or server - direct (round trip); the client's is
 * server/forward or forward - server. The goal: the client adds no more than the server does. CPU per GB
 * of the forward and of the server are read in the same forward runs (each relays every byte both ways).
 */
import type { ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, shebang, startBridgeRetrying as startBridge } from './bridges.js';
import type { Context } from './figures.js';
import { type RttResult, runLoad, type StreamResult } from './load.js';
import { start, stop, treeCpuSeconds, waitForPort } from './procs.js';
import { median } from './report.js';

type Way = 'direct' | 'server' | 'forward';
const WAYS: readonly Way[] = ['direct', 'server', 'forward'];

interface Row {
  name: string;
  unit: string;
  better: 'higher' | 'lower';
  values: Record<Way, number[]>;
}

function row(name: string, unit: string, better: Row['better']): Row {
  return { name, unit, better, values: { direct: [], server: [], forward: [] } };
}

async function startForward(
  ctx: Context,
  bridgePort: number,
): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const bin = join(ctx.setup.root, 'bin', 'wstcp');
  const line = shebang(bin);
  const out = openSync(join(ctx.setup.workDir, 'forward.log'), 'a');
  const child = start(
    process.execPath,
    [...line.nodeArgs, bin, 'forward', `127.0.0.1:${port}`, `ws://127.0.0.1:${bridgePort}/`],
    { stdio: ['ignore', out, out], cwd: ctx.setup.workDir, env: { ...process.env, ...line.env } },
  );
  await waitForPort(port, 30000);
  return { port, child };
}

function fmt(value: number | undefined, unit: string): string {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

/** Runs the three ways, alternating their order per repetition; returns the markdown section. */
export async function clientFigures(ctx: Context): Promise<string> {
  const { settings, tools } = ctx;
  const echo1 = row('echo 1 x 64 KiB', 'MB/s', 'higher');
  const echo8 = row('echo 8 x 64 KiB', 'MB/s', 'higher');
  const rtt = row('round trip 64 B, p50', 'us', 'lower');
  const cpu = { forward: [] as number[], server: [] as number[] };
  const bridge = await startBridge('wstcp', ctx.echoPort, ctx.setup);
  let forward: { port: number; child: ChildProcess } | undefined;
  try {
    forward = await startForward(ctx, bridge.port);
    const target = (way: Way) =>
      way === 'direct'
        ? { port: ctx.echoPort, raw: true }
        : way === 'server'
          ? { port: bridge.port }
          : { port: forward!.port, raw: true };
    const timing = ['--warmup', String(settings.warmup)];
    for (let rep = 0; rep < settings.reps; rep++) {
      const ways = rep % 2 === 0 ? WAYS : [...WAYS].reverse();
      for (const [figure, sessions] of [
        [echo1, 1],
        [echo8, 8],
      ] as const) {
        for (const way of ways) {
          const before =
            way === 'forward' ? [treeCpuSeconds(forward.child.pid!), treeCpuSeconds(bridge.pid)] : [];
          const args = [...timing, '--sessions', String(sessions), '--size', '65536'];
          const r = await runLoad<StreamResult>(tools.wsload, 'echo', target(way), args, settings.seconds);
          figure.values[way].push(r.mbps);
          if (way === 'forward' && figure === echo8 && r.total_bytes > 0) {
            const after = [treeCpuSeconds(forward.child.pid!), treeCpuSeconds(bridge.pid)];
            const gb = (2 * r.total_bytes) / 1e9;
            const spent = (i: number) =>
              after[i]!.user + after[i]!.system - before[i]!.user - before[i]!.system;
            cpu.forward.push(spent(0) / gb);
            cpu.server.push(spent(1) / gb);
          }
          ctx.progress(`client side ${figure.name}: ${way} ${r.mbps} MB/s`);
        }
      }
      for (const way of ways) {
        const r = await runLoad<RttResult>(tools.wsload, 'rtt', target(way), timing, settings.seconds);
        rtt.values[way].push(r.p50_us);
        ctx.progress(`client side round trip: ${way} p50 ${r.p50_us} us`);
      }
    }
  } finally {
    if (forward) await stop(forward.child);
    await bridge.stop();
  }
  return report([echo1, echo8, rtt], cpu);
}

/** A difference with its sign: +20 us, -3.1 us. */
function signed(value: number, unit: string): string {
  return `${value < 0 ? '-' : '+'}${fmt(Math.abs(value), unit)}`;
}

function report(rows: Row[], cpu: { forward: number[]; server: number[] }): string {
  const lines = [
    '| figure | straight to the target | WebSocket client -> wstcp | `wstcp forward` -> wstcp | server adds | client adds | client <= server |',
    '|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const d = median(r.values.direct);
    const s = median(r.values.server);
    const f = median(r.values.forward);
    let server = 'n/a';
    let client = 'n/a';
    let met = '';
    if (d !== undefined && s !== undefined && f !== undefined) {
      if (r.better === 'higher') {
        // Throughput: how many times slower each stage makes it.
        server = `${(d / s).toFixed(2)}x slower`;
        client = `${(s / f).toFixed(2)}x slower`;
        met = s / f <= d / s ? 'yes' : 'NO';
      } else {
        server = signed(s - d, r.unit);
        client = signed(f - s, r.unit);
        met = f - s <= s - d ? 'yes' : 'NO';
      }
    }
    lines.push(
      `| ${r.name} | ${fmt(d, r.unit)} | ${fmt(s, r.unit)} | ${fmt(f, r.unit)} | ${server} | ${client} | ${met} |`,
    );
  }
  const cf = median(cpu.forward);
  const cs = median(cpu.server);
  if (cf !== undefined && cs !== undefined) {
    lines.push(
      `| CPU per GB relayed (echo 8 x 64 KiB through both) | | ${fmt(cs, 's/GB')} (wstcp) | ${fmt(cf, 's/GB')} (forward) | | ${(cf / cs).toFixed(2)}x the server's | ${cf <= cs ? 'yes' : 'NO'} |`,
    );
  }
  return lines.join('\n');
}
