/**
 * `npm run bench`: wstcp against the Python websockify on loopback, with the C load generator and C
 * targets from bench/c/. Prints a markdown table of medians and ratios; `--write-docs` also puts it into
 * docs/performance.md. Every child is killed at the end, also on failure or Ctrl-C.
 *
 *   npm run bench                      full run (~7 minutes on 2 cores)
 *   npm run bench -- --quick           ~1.5 minutes: one 1 s run per figure, 2,000 idle sessions
 *   npm run bench -- --write-docs      also update docs/performance.md
 *   npm run bench -- --no-wss --no-workers --reps 5 --seconds 3 --hold 8000
 *   npm run bench -- --wstcp-only "--wstcp-args=--metrics 127.0.0.1:0"   wstcp alone, with extra flags
 *   npm run bench -- --only channels   only the channel fan-out (wstcp and Nchan, ~3 minutes)
 *   npm run bench -- --only pool --reps 5   only the pool figure
 *   npm run bench -- --only client     only the client side (wstcp forward, ~1.5 minutes)
 * Sections: ws (ws:// figures), memory, wss, workers, pool, commands, channels, client. `--only a,b` runs just
 * those, `--no-NAME` leaves one out (`--channels-only`, `--pool-only`, `--commands-only`
 *   and `--client-only` are aliases of `--only`). With --write-docs, each section replaces its own block..
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BridgeKind } from './bridges.js';
import { channelFanout } from './channels.js';
import { clientFigures } from './client.js';
import { type CommandFigure, commandFigures, commandsTable, findWebsocketd } from './commands.js';
import { type Context, memoryFigure, type Settings, wireFigures, workerScaling } from './figures.js';
import { machineDescription, updateDocs } from './machine.js';
import { poolFigure, poolTable } from './pool-figure.js';
import { runMain, start, stopAll, waitForLine } from './procs.js';
import { type Figure, markdownTable, type ScalingRow, scalingTable } from './report.js';
import { buildTools, ensureWebsockify, selfSignedCert } from './tools.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

const SECTIONS = ['ws', 'memory', 'wss', 'workers', 'pool', 'commands', 'channels', 'client'] as const;
type Section = (typeof SECTIONS)[number];

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      'write-docs': { type: 'boolean', default: false },
      'no-wss': { type: 'boolean', default: false },
      'no-workers': { type: 'boolean', default: false },
      'no-memory': { type: 'boolean', default: false },
      'no-channels': { type: 'boolean', default: false },
      'channels-only': { type: 'boolean', default: false },
      'no-pool': { type: 'boolean', default: false },
      'pool-only': { type: 'boolean', default: false },
      'no-ws': { type: 'boolean', default: false },
      only: { type: 'string' },
      'no-commands': { type: 'boolean', default: false },
      'commands-only': { type: 'boolean', default: false },
      'no-client': { type: 'boolean', default: false },
      'client-only': { type: 'boolean', default: false },
      reps: { type: 'string' },
      seconds: { type: 'string' },
      hold: { type: 'string' },
      workers: { type: 'string' },
      'wstcp-only': { type: 'boolean', default: false },
      'wstcp-args': { type: 'string' },
    },
  });
  const quick = values.quick === true;
  const settings: Settings = {
    reps: Number(values.reps ?? (quick ? 1 : 3)),
    seconds: Number(values.seconds ?? (quick ? 1 : 2.5)),
    warmup: quick ? 0.2 : 0.5,
    holdCount: Number(values.hold ?? (quick ? 2000 : 8000)),
    holdSeconds: quick ? 15 : 60,
    // websockify forks a process per session: stop opening while the machine still has room to spare.
    minFreeMb: 4096,
    rateThreads: 8,
    maxWorkers: Number(values.workers ?? Math.min(availableParallelism(), 4)),
  };
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isFinite(value) || value <= 0) throw new Error(`bench: invalid value for ${name}`);
  }
  const only = (values.only ?? '').split(',').filter((name) => name !== '') as Section[];
  if (values['channels-only']) only.push('channels');
  if (values['pool-only']) only.push('pool');
  if (values['commands-only']) only.push('commands');
  if (values['client-only']) only.push('client');
  for (const name of only) {
    if (!SECTIONS.includes(name))
      throw new Error(`bench: --only ${name}: sections are ${SECTIONS.join(', ')}`);
  }
  /** Whether a section runs: the ones named by --only, or every one not left out with --no-NAME. */
  const want = (section: Section): boolean =>
    only.length > 0 ? only.includes(section) : values[`no-${section}`] !== true;
  return { quick, settings, values, want };
}

async function startTarget(binary: string): Promise<number> {
  const child = start(binary, ['0']);
  const match = await waitForLine(child, /PORT (\d+)/, 5000);
  return Number(match[1]);
}

async function main(): Promise<void> {
  const { quick, settings, values, want } = options();
  const startedAt = Date.now();
  const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);
  const tools = buildTools(ROOT);
  const websockify = ensureWebsockify();
  const workDir = mkdtempSync(join(tmpdir(), 'wstcp-bench-'));
  try {
    const wss = !values['no-wss'] && tools.tls;
    const tls = wss ? selfSignedCert(workDir) : undefined;
    const kinds: BridgeKind[] = websockify && !values['wstcp-only'] ? ['wstcp', 'websockify'] : ['wstcp'];
    const wstcpArgs = values['wstcp-args']?.split(/\s+/).filter((arg) => arg !== '') ?? [];
    const ctx: Context = {
      tools,
      setup: { root: ROOT, workDir, websockify, tls, wstcpArgs },
      settings,
      echoPort: await startTarget(tools.echoTarget),
      sourcePort: await startTarget(tools.sourceTarget),
      kinds,
      progress,
    };
    // A section that fails is reported and skipped: the others' figures are still worth printing.
    const failures: string[] = [];
    const attempt = async <T>(section: string, run: () => Promise<T>, fallback: T): Promise<T> => {
      try {
        return await run();
      } catch (err) {
        failures.push(`${section}: ${(err as Error).message}`);
        progress(`${section} FAILED: ${(err as Error).message}`);
        return fallback;
      }
    };
    const figures: Figure[] = want('ws') ? await attempt('ws://', () => wireFigures(ctx, false), []) : [];
    if (want('memory')) figures.push(...(await attempt('memory', async () => [await memoryFigure(ctx)], [])));
    if (wss && want('wss')) figures.push(...(await attempt('wss://', () => wireFigures(ctx, true), [])));
    const pool = want('pool') ? await attempt('pool', () => poolFigure(ctx), undefined) : undefined;
    let scaling: ScalingRow[] = [];
    if (want('workers')) scaling = await attempt('--workers', () => workerScaling(ctx), []);
    let commands: CommandFigure[] = [];
    const websocketd = want('commands') ? findWebsocketd() : undefined;
    if (want('commands') && !websocketd)
      progress('commands: websocketd is not installed (apt-get install websocketd); skipped');
    if (websocketd) {
      const commandsCtx = { root: ROOT, workDir, tools, settings, holdCount: quick ? 200 : 1000, progress };
      commands = await attempt('commands', () => commandFigures(commandsCtx, websocketd), []);
    }

    const channels = !want('channels')
      ? ''
      : await attempt(
          'channels',
          () =>
            channelFanout({
              root: ROOT,
              seconds: quick ? 1 : 3,
              reps: values.reps === undefined ? (quick ? 1 : 3) : settings.reps,
              counts: [1000, 10_000],
              sizes: [64, 4096],
              progress,
            }),
          '',
        );
    const client = want('client') ? await attempt('client side', () => clientFigures(ctx), '') : '';
    const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
    const minutes = ((Date.now() - startedAt) / 60000).toFixed(1);
    const header = [
      `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`${command}\` (${minutes} min,` +
        ` ${settings.reps} run(s) per figure, ${settings.seconds} s each; medians).`,
      '',
      machineDescription(),
      '',
    ];
    const tail = [
      quick ? '\n(--quick: one short run per figure; use the full run for the record.)' : '',
      failures.length
        ? `\nFailed sections:\n\n${failures.map((f) => `- ${f.split('\n')[0]}`).join('\n')}`
        : '',
    ];
    const commandsBlock = commands.length
      ? `Command targets (\`wstcp --binary --cmd cat\` against \`websocketd --binary cat\`, one cat per session):\n\n${commandsTable(commands)}`
      : '';
    const mainReport = [
      ...header,
      figures.length ? markdownTable(figures) : '',
      scaling.length
        ? `\nwstcp \`--workers\` scaling (8 echo sessions x 64 KiB; ${settings.rateThreads} session-opening threads):\n\n${scalingTable(scaling)}`
        : '',
      pool
        ? `\nSession rate through a pool (${settings.rateThreads} session-opening threads, C echo targets):\n\n${poolTable(pool)}`
        : '',
      ...tail,
    ].join('\n');
    const commandsReport = [...header, commandsBlock, ...tail].join('\n');
    const clientBlock = client
      ? `The client side (\`wstcp forward\` in front of wstcp in front of the echo target, ws://):\n\n${client}`
      : '';
    const clientReport = [...header, client, ...tail].join('\n');
    if (failures.length) process.exitCode = 1;
    const wireReport = figures.length > 0 || scaling.length > 0 || pool !== undefined;
    const channelReport = channels
      ? `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`${command}\`.\n\n${channels}`
      : '';
    process.stdout.write(
      [wireReport ? mainReport : '', commandsBlock, channelReport, clientBlock]
        .filter((r) => r !== '')
        .join('\n\n') + '\n',
    );
    if (values['write-docs']) {
      const docs = join(ROOT, 'docs', 'performance.md');
      if (wireReport) updateDocs(docs, mainReport);
      if (commandsBlock) updateDocs(docs, commandsReport, 'commands');
      if (channelReport) updateDocs(docs, channelReport, 'channels');
      if (client) updateDocs(docs, clientReport, 'client');
      progress('docs/performance.md updated');
    }
  } finally {
    await stopAll();
    rmSync(workDir, { recursive: true, force: true });
  }
}

runMain('bench', main);
