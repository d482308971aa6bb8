/**
 * The measurements: every figure runs wstcp and websockify against the same C targets, alternating
 * which goes first on each repetition (A B, B A, ...), so drift on the machine hits both alike.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BridgeKind,
  type BridgeSetup,
  type RunningBridge,
  startBridgeRetrying as startBridge,
} from './bridges.js';
import {
  heldSessionMemory,
  type LoadTarget,
  type RateResult,
  type RttResult,
  runLoad,
  type StreamResult,
} from './load.js';
import { treeCpuSeconds } from './procs.js';
import { type Figure, type Goal, median, type ScalingRow } from './report.js';
import type { Tools } from './tools.js';

export interface Settings {
  reps: number;
  seconds: number;
  warmup: number;
  holdCount: number;
  holdSeconds: number;
  minFreeMb: number;
  rateThreads: number;
  maxWorkers: number;
}

export interface Context {
  tools: Tools;
  setup: BridgeSetup;
  settings: Settings;
  echoPort: number;
  sourcePort: number;
  kinds: BridgeKind[];
  progress(line: string): void;
}

function newFigure(
  section: string,
  name: string,
  unit: string,
  better: Figure['better'],
  goal: Goal,
): Figure {
  return { section, name, unit, better, goal, wstcp: [], websockify: [], limit: [] };
}

/** `kinds` in the order of repetition `rep`. */
function order(kinds: BridgeKind[], rep: number): BridgeKind[] {
  return rep % 2 === 0 ? kinds : [...kinds].reverse();
}

interface StreamSpec {
  figure: Figure;
  mode: 'echo' | 'source';
  sessions: number;
  size: number;
  /** Where CPU seconds per GB relayed are recorded, when this run measures them. */
  cpu?: CpuFigure;
}

/** Throughput, round trip, session rate and CPU figures over ws:// or wss://. */
export async function wireFigures(ctx: Context, tls: boolean): Promise<Figure[]> {
  const section = tls ? 'wss:// (TLS)' : 'ws://';
  const { settings, tools } = ctx;
  const cpuEcho = cpuFigure(section, 'bridge CPU per GB relayed, echo 8 x 64 KiB');
  const cpuSource = cpuFigure(section, 'bridge CPU per GB relayed, target->client');
  const streams: StreamSpec[] = [
    {
      mode: 'echo',
      sessions: 1,
      size: 65536,
      figure: newFigure(section, 'echo 1 x 64 KiB frames', 'MB/s', 'higher', { kind: 'ratio', min: 3 }),
    },
    {
      mode: 'echo',
      sessions: 8,
      size: 65536,
      figure: newFigure(section, 'echo 8 x 64 KiB frames', 'MB/s', 'higher', { kind: 'ratio', min: 3 }),
      cpu: cpuEcho,
    },
    {
      mode: 'echo',
      sessions: 1,
      size: 1024,
      figure: newFigure(section, 'echo 1 x 1 KiB frames', 'MB/s', 'higher', { kind: 'ratio', min: 4 }),
    },
    {
      mode: 'echo',
      sessions: 8,
      size: 1024,
      figure: newFigure(section, 'echo 8 x 1 KiB frames', 'MB/s', 'higher', { kind: 'ratio', min: 4 }),
    },
    {
      mode: 'source',
      sessions: 1,
      size: 65536,
      figure: newFigure(section, 'target->client, 1 session', 'MB/s', 'higher', { kind: 'ratio', min: 1.2 }),
      cpu: cpuSource,
    },
  ];
  const rttP50 = newFigure(section, 'round trip 64 B, p50', 'us', 'lower', { kind: 'ratio', max: 1 });
  const rttP99 = newFigure(section, 'round trip 64 B, p99', 'us', 'lower', { kind: 'none' });
  const rate = newFigure(section, `new sessions/s (${settings.rateThreads} threads)`, '/s', 'higher', {
    kind: 'ratio',
    min: 5,
  });

  const bridges = new Map<string, RunningBridge>();
  try {
    for (const kind of ctx.kinds) {
      bridges.set(`${kind}:echo`, await startBridge(kind, ctx.echoPort, ctx.setup, { tls }));
      bridges.set(`${kind}:source`, await startBridge(kind, ctx.sourcePort, ctx.setup, { tls }));
    }
    const timing = ['--warmup', String(settings.warmup)];
    for (let rep = 0; rep < settings.reps; rep++) {
      for (const spec of streams) {
        const args = [...timing, '--sessions', String(spec.sessions), '--size', String(spec.size)];
        if (!tls) {
          const port = spec.mode === 'echo' ? ctx.echoPort : ctx.sourcePort;
          const r = await runLoad<StreamResult>(
            tools.wsload,
            spec.mode,
            { port, raw: true },
            args,
            settings.seconds,
          );
          spec.figure.limit.push(r.mbps);
        }
        for (const kind of order(ctx.kinds, rep)) {
          const bridge = bridges.get(`${kind}:${spec.mode}`)!;
          const cpu0 = treeCpuSeconds(bridge.pid);
          const target: LoadTarget = { port: bridge.port, tls };
          const r = await runLoad<StreamResult>(tools.wsload, spec.mode, target, args, settings.seconds);
          // Echoed bytes cross the bridge twice (to the target and back).
          const relayed = r.total_bytes * (spec.mode === 'echo' ? 2 : 1);
          await sleep(200);
          const cpu1 = treeCpuSeconds(bridge.pid);
          spec.figure[kind].push(r.mbps);
          if (spec.cpu && relayed > 0) {
            const gb = relayed / 1e9;
            spec.cpu.figure[kind].push((cpu1.user - cpu0.user + cpu1.system - cpu0.system) / gb);
            spec.cpu.kernel[kind].push((cpu1.system - cpu0.system) / gb);
          }
          ctx.progress(
            `${section} ${spec.figure.name}: ${kind} ${r.mbps} MB/s${r.errors ? ` (${r.errors} errors)` : ''}`,
          );
        }
      }
      if (!tls) {
        const r = await runLoad<RttResult>(
          tools.wsload,
          'rtt',
          { port: ctx.echoPort, raw: true },
          timing,
          settings.seconds,
        );
        rttP50.limit.push(r.p50_us);
        rttP99.limit.push(r.p99_us);
      }
      for (const kind of order(ctx.kinds, rep)) {
        const target: LoadTarget = { port: bridges.get(`${kind}:echo`)!.port, tls };
        const r = await runLoad<RttResult>(tools.wsload, 'rtt', target, timing, settings.seconds);
        rttP50[kind].push(r.p50_us);
        rttP99[kind].push(r.p99_us);
        ctx.progress(`${section} round trip: ${kind} p50 ${r.p50_us} us, p99 ${r.p99_us} us`);
      }
      const rateArgs = [...timing, '--sessions', String(settings.rateThreads)];
      if (!tls) {
        const r = await runLoad<RateResult>(
          tools.wsload,
          'rate',
          { port: ctx.echoPort, raw: true },
          rateArgs,
          settings.seconds,
        );
        rate.limit.push(r.per_s);
      }
      for (const kind of order(ctx.kinds, rep)) {
        const target: LoadTarget = { port: bridges.get(`${kind}:echo`)!.port, tls };
        const r = await runLoad<RateResult>(tools.wsload, 'rate', target, rateArgs, settings.seconds);
        rate[kind].push(r.per_s);
        ctx.progress(
          `${section} session rate: ${kind} ${r.per_s}/s${r.failed ? ` (${r.failed} failed)` : ''}`,
        );
      }
    }
  } finally {
    await Promise.all([...bridges.values()].map((b) => b.stop()));
  }
  rttP99.goal = { kind: 'value', max: 2 * (median(rttP50.wstcp) ?? 0), text: '< 2 x wstcp p50' };
  for (const cpu of [cpuEcho, cpuSource]) noteKernelShare(cpu);
  return [...streams.map((s) => s.figure), rttP50, rttP99, rate, cpuEcho.figure, cpuSource.figure];
}

/** A CPU-per-GB figure, with the kernel's part of each run kept beside it for the note. */
interface CpuFigure {
  figure: Figure;
  /** System (kernel) CPU seconds per GB of each run, per bridge. */
  kernel: Record<BridgeKind, number[]>;
}

function cpuFigure(section: string, name: string): CpuFigure {
  return {
    figure: newFigure(section, name, 's/GB', 'lower', { kind: 'ratio', max: 0.5 }),
    kernel: { wstcp: [], websockify: [] },
  };
}

/**
 * Says how much of each bridge's CPU per GB was spent in the kernel (socket copies and TCP, the same work
 * for any bridge): the part a faster bridge cannot shrink.
 */
function noteKernelShare({ figure, kernel }: CpuFigure): void {
  const parts = (['wstcp', 'websockify'] as const).flatMap((kind) => {
    const seconds = median(kernel[kind]);
    return seconds === undefined ? [] : [`${kind} ${seconds.toFixed(2)} s/GB of it in the kernel`];
  });
  if (parts.length > 0) figure.note = [figure.note, parts.join(', ')].filter(Boolean).join('; ');
}

/** Memory per idle session: a fresh bridge, its memory before and after holding up to N sessions. */
export async function memoryFigure(ctx: Context): Promise<Figure> {
  const { settings, tools } = ctx;
  const figure = newFigure(
    'memory',
    `memory per idle session (PSS, up to ${settings.holdCount} sessions)`,
    'KB',
    'lower',
    {
      kind: 'value',
      max: 8,
      text: '<= 8 KB',
    },
  );
  const notes: string[] = [];
  for (const kind of ctx.kinds) {
    const bridge = await startBridge(kind, ctx.echoPort, ctx.setup);
    try {
      const { held, before, after } = await heldSessionMemory(
        tools.wsload,
        bridge,
        settings.holdCount,
        settings.holdSeconds,
        settings.minFreeMb,
      );
      const n = held.held;
      if (n > 0) {
        figure[kind].push((after.pssKb - before.pssKb) / n);
        notes.push(
          `${kind} held ${n} (stopped: ${held.stopped}), ${after.processes} processes, ` +
            `RSS ${((after.rssKb - before.rssKb) / n).toFixed(1)} KB/session`,
        );
      }
      ctx.progress(`memory: ${kind} held ${n}, PSS ${before.pssKb} -> ${after.pssKb} kB`);
    } finally {
      await bridge.stop();
    }
  }
  figure.note = notes.join('; ');
  return figure;
}

/** wstcp alone with --workers 1..N: echo throughput (8 x 64 KiB) and session rate. */
export async function workerScaling(ctx: Context): Promise<ScalingRow[]> {
  const { settings, tools } = ctx;
  const rows: ScalingRow[] = [];
  for (let workers = 1; workers <= settings.maxWorkers; workers++) {
    const row: ScalingRow = { workers, echoMbps: [], ratePerS: [] };
    const bridge = await startBridge('wstcp', ctx.echoPort, ctx.setup, { workers });
    try {
      await sleep(500 * workers);
      const timing = ['--warmup', String(settings.warmup)];
      for (let rep = 0; rep < settings.reps; rep++) {
        const echo = await runLoad<StreamResult>(
          tools.wsload,
          'echo',
          { port: bridge.port },
          [...timing, '--sessions', '8', '--size', '65536'],
          settings.seconds,
        );
        row.echoMbps.push(echo.mbps);
        const rate = await runLoad<RateResult>(
          tools.wsload,
          'rate',
          { port: bridge.port },
          [...timing, '--sessions', String(settings.rateThreads)],
          settings.seconds,
        );
        row.ratePerS.push(rate.per_s);
        ctx.progress(`workers ${workers}: echo ${echo.mbps} MB/s, ${rate.per_s} sessions/s`);
      }
    } finally {
      await bridge.stop();
    }
    rows.push(row);
  }
  return rows;
}
