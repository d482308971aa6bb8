/**
 * The `commands` section: wstcp's command targets against the real websocketd, each running `cat` per
 * session in --binary mode (raw bytes both ways, so the same load generator frames work for both):
 * sessions per second (open, one 64-byte round trip through cat, close), echo throughput through cat,
 * program->client throughput (`cat /dev/zero`), and memory per idle session over the whole process tree
 * (the bridge and every cat, PSS).
 *
 * websocketd 0.4.1 relays both directions in one loop: when the client floods, its write to cat's stdin
 * blocks while cat blocks writing stdout, which that same loop should read, and the session stalls for
 * good. Its echo figure is therefore ~0; the program->client figure shows its relay speed without that.
 */
import { spawnSync } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './bridges.js';
import type { Settings } from './figures.js';
import { heldSessionMemory, type RateResult, runLoad, type StreamResult } from './load.js';
import { start, stop, waitForPort } from './procs.js';
import { median } from './report.js';
import type { Tools } from './tools.js';

export type CommandBridge = 'wstcp' | 'websocketd';

export interface CommandFigure {
  name: string;
  unit: string;
  better: 'higher' | 'lower';
  wstcp: number[];
  websocketd: number[];
  note?: string;
}

export interface CommandsContext {
  root: string;
  workDir: string;
  tools: Tools;
  settings: Settings;
  /** How many idle sessions the memory figure holds (each is a cat process). */
  holdCount: number;
  progress(line: string): void;
}

/** The websocketd executable, or undefined (the section is then skipped, saying why). */
export function findWebsocketd(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v websocketd'], { encoding: 'utf8' });
  const path = which.stdout.trim();
  return which.status === 0 && path ? path : undefined;
}

let logCounter = 0;

interface CommandBridgeProcess {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts `kind` running `command` (words, no shell) per session in --binary mode. */
async function startCommandBridge(
  kind: CommandBridge,
  ctx: CommandsContext,
  websocketd: string,
  command: readonly string[] = ['cat'],
  extra: readonly string[] = [],
): Promise<CommandBridgeProcess> {
  const port = await freePort();
  const out = openSync(join(ctx.workDir, `${kind}-cmd-${++logCounter}.log`), 'a');
  const options = { stdio: ['ignore', out, out] as ('ignore' | number)[], cwd: ctx.workDir };
  const child =
    kind === 'wstcp'
      ? // As installed: bin/wstcp's shebang line sets its node flags and malloc tuning.
        start(
          join(ctx.root, 'bin', 'wstcp'),
          [...extra, '--binary', '--cmd', command.join(' '), `127.0.0.1:${port}`],
          options,
        )
      : start(
          websocketd,
          ['--binary', '--address=127.0.0.1', `--port=${port}`, '--loglevel=error', ...command],
          options,
        );
  await waitForPort(port, 30000);
  return { pid: child.pid!, port, stop: () => stop(child) };
}

/** Runs the three figures for wstcp and websocketd, alternating which goes first on each repetition. */
export async function commandFigures(ctx: CommandsContext, websocketd: string): Promise<CommandFigure[]> {
  const { settings, tools } = ctx;
  const rate: CommandFigure = {
    name: `new sessions/s, one round trip through cat (${settings.rateThreads} threads)`,
    unit: '/s',
    better: 'higher',
    wstcp: [],
    websocketd: [],
  };
  const echo: CommandFigure = {
    name: '--binary echo through cat, 1 x 64 KiB frames',
    unit: 'MB/s',
    better: 'higher',
    wstcp: [],
    websocketd: [],
  };
  const source: CommandFigure = {
    name: '--binary program->client, `cat /dev/zero`, 1 session',
    unit: 'MB/s',
    better: 'higher',
    wstcp: [],
    websocketd: [],
  };
  const kinds: CommandBridge[] = ['wstcp', 'websocketd'];
  const timing = ['--warmup', String(settings.warmup)];
  const rateArgs = [...timing, '--sessions', String(settings.rateThreads)];
  // --workers 2: the bridge's own work per session spread over two processes (each with its spawners).
  const workerRates: number[] = [];
  for (let rep = 0; rep < settings.reps; rep++) {
    const workers = await startCommandBridge('wstcp', ctx, websocketd, ['cat'], ['--workers', '2']);
    try {
      await sleep(1000);
      const r = await runLoad<RateResult>(
        tools.wsload,
        'rate',
        { port: workers.port },
        rateArgs,
        settings.seconds,
      );
      workerRates.push(r.per_s);
      ctx.progress(`commands: wstcp --workers 2 ${r.per_s} sessions/s (${r.failed} failed)`);
    } finally {
      await workers.stop();
    }
    for (const kind of rep % 2 === 0 ? kinds : [...kinds].reverse()) {
      const bridge = await startCommandBridge(kind, ctx, websocketd);
      try {
        await sleep(300);
        const r = await runLoad<RateResult>(
          tools.wsload,
          'rate',
          { port: bridge.port },
          rateArgs,
          settings.seconds,
        );
        rate[kind].push(r.per_s);
        // Let the last programs of the rate run be reaped before the throughput run.
        await sleep(1500);
        const e = await runLoad<StreamResult>(
          tools.wsload,
          'echo',
          { port: bridge.port },
          [...timing, '--sessions', '1', '--size', '65536'],
          settings.seconds,
        );
        echo[kind].push(e.mbps);
        ctx.progress(`commands: ${kind} ${r.per_s} sessions/s (${r.failed} failed), echo ${e.mbps} MB/s`);
      } finally {
        await bridge.stop();
      }
      const zeros = await startCommandBridge(kind, ctx, websocketd, ['cat', '/dev/zero']);
      try {
        const r = await runLoad<StreamResult>(
          tools.wsload,
          'source',
          { port: zeros.port },
          [...timing, '--sessions', '1'],
          settings.seconds,
        );
        source[kind].push(r.mbps);
        ctx.progress(`commands: ${kind} program->client ${r.mbps} MB/s`);
      } finally {
        await zeros.stop();
      }
    }
  }
  echo.note = 'websocketd 0.4.1 stalls when the client floods (see bench/commands.ts)';
  rate.note = `wstcp --workers 2: ${median(workerRates)?.toFixed(0) ?? 'n/a'} /s`;
  return [rate, echo, source, await memoryFigure(ctx, websocketd)];
}

/** Memory per idle session: the bridge's whole tree (its cat processes included), before and after. */
async function memoryFigure(ctx: CommandsContext, websocketd: string): Promise<CommandFigure> {
  const { settings, tools } = ctx;
  const figure: CommandFigure = {
    name: `memory per idle session, bridge + cat (PSS, ${ctx.holdCount} sessions)`,
    unit: 'KB',
    better: 'lower',
    wstcp: [],
    websocketd: [],
  };
  const notes: string[] = [];
  for (const kind of ['wstcp', 'websocketd'] as const) {
    const bridge = await startCommandBridge(kind, ctx, websocketd);
    try {
      const { held, before, after } = await heldSessionMemory(
        tools.wsload,
        bridge,
        ctx.holdCount,
        settings.holdSeconds,
        settings.minFreeMb,
      );
      const n = held.held;
      if (n > 0) {
        figure[kind].push((after.pssKb - before.pssKb) / n);
        notes.push(`${kind} held ${n}, ${after.processes} processes`);
      }
      ctx.progress(`commands memory: ${kind} held ${n}, PSS ${before.pssKb} -> ${after.pssKb} kB`);
    } finally {
      await bridge.stop();
    }
  }
  figure.note = notes.join('; ');
  return figure;
}

function format(value: number | undefined, unit: string): string {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

/** The section as a markdown table; the goal is websocketd's figure or better. */
export function commandsTable(figures: readonly CommandFigure[]): string {
  const rows = [
    '| figure | wstcp | websocketd | wstcp / websocketd | goal | met | note |',
    '|---|---:|---:|---:|---|---|---|',
  ];
  for (const f of figures) {
    const w = median(f.wstcp);
    const d = median(f.websocketd);
    const ratio = w !== undefined && d !== undefined && d !== 0 ? w / d : undefined;
    const goal = f.better === 'higher' ? '>= 1x' : '< 1x';
    const met = ratio === undefined ? '' : (f.better === 'higher' ? ratio >= 1 : ratio < 1) ? 'yes' : 'NO';
    const runs = `runs ${f.wstcp.length}/${f.websocketd.length}`;
    rows.push(
      `| ${f.name} | ${format(w, f.unit)} | ${format(d, f.unit)} | ${ratio === undefined ? 'n/a' : `${ratio.toFixed(2)}x`} | ` +
        `${goal} | ${met} | ${[f.note, runs].filter(Boolean).join('; ')} |`,
    );
  }
  return rows.join('\n');
}
