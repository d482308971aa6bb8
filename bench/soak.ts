/**
 * `npm run soak`: a long run of churning sessions through a real wstcp process, to catch what short tests
 * miss: file descriptors or memory that leak a little per session, sessions that never end, bytes lost or
 * reordered under backpressure. See docs/soak.md.
 *
 *   npm run soak                                   2 minutes, 200 concurrent sessions
 *   npm run soak -- --minutes 1 --sessions 100 --seed 7
 *
 * bin/wstcp runs as its own process in front of the C echo target (bench/c/echo_target.c), both on
 * loopback. Sessions open, send seeded random messages, and end: most close cleanly and must get every
 * byte back (SHA-256 both ways), some vanish (socket destroyed), some read slowly. The first fifth of the
 * run is a warm-up whose end sets the memory baseline. At the end the bridge must have as many open file
 * descriptors as it started with, its RSS near the warm baseline, and a session.close for every
 * session.open in its log. Exit status 1 otherwise. Everything started here is killed at the end, also on
 * failure or Ctrl-C.
 */

import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Prng } from '../test/helpers/prng.js';
import { freePort } from './bridges.js';
import { runMain, start, stopAll, waitForLine, waitForPort } from './procs.js';
import { runSession, type SessionResult } from './soak-session.js';
import { buildTools } from './tools.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
/** Descriptors the bridge may hold beyond its starting count at the end (none is expected). */
const FD_SLACK = 2;
/** RSS at the end may exceed the warm baseline by this fraction, or by RSS_SLACK_KB if that is more. */
const RSS_SLACK_FRACTION = 0.25;
const RSS_SLACK_KB = 32 * 1024;
/** How long the bridge gets, after the last session, to log every close and let go of its sockets. */
const SETTLE_MS = 30_000;

function options() {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '2' },
      sessions: { type: 'string', default: '200' },
      seed: { type: 'string', default: String(0x50a4) },
    },
  });
  const minutes = Number(values.minutes);
  const sessions = Number(values.sessions);
  const seed = Number(values.seed);
  if (!(minutes > 0 && minutes <= 24 * 60)) throw new Error('--minutes must be a number in (0, 1440]');
  if (!(Number.isInteger(sessions) && sessions > 0 && sessions <= 5000))
    throw new Error('--sessions must be an integer in [1, 5000]');
  if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff))
    throw new Error('--seed must be a 32-bit integer');
  return { minutes, sessions, seed };
}

const say = (line: string) => process.stderr.write(`soak: ${line}\n`);

/** The C echo target when gcc can build it, otherwise an in-process one (it then shares this process's CPU). */
async function startEchoTarget(): Promise<number> {
  try {
    const child = start(buildTools(ROOT).echoTarget, ['0']);
    return Number((await waitForLine(child, /PORT (\d+)/, 5000))[1]);
  } catch (err) {
    say(`C echo target unavailable (${(err as Error).message.split('\n')[0]}); using a Node one`);
    const server = createServer((socket) => {
      socket.on('error', () => socket.destroy());
      socket.pipe(socket);
    });
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    server.unref();
    const address = server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }
}

interface Sample {
  fds: number;
  rssKb: number;
}

function sample(pid: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    fds: readdirSync(`/proc/${pid}/fd`).length,
    rssKb: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0),
  };
}

interface LogCounts {
  opened: number;
  closed: number;
  /** session.close lines by `closed_by code`. */
  codes: Map<string, number>;
}

function logCounts(file: string): LogCounts {
  const counts: LogCounts = { opened: 0, closed: 0, codes: new Map() };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { event?: string; code?: number; closed_by?: string };
    if (entry.event === 'session.open') counts.opened++;
    if (entry.event === 'session.close') {
      counts.closed++;
      const key = `${entry.closed_by} ${entry.code}`;
      counts.codes.set(key, (counts.codes.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

interface Tally {
  matched: number;
  vanished: number;
  slowReaders: number;
  bytes: number;
  failures: string[];
}

/** `sessions` loops opening one session after another until `ms` have passed; resolves when all ended. */
async function churn(url: string, sessions: number, ms: number, rng: Prng, pool: Buffer, tally: Tally) {
  const stopAt = Date.now() + ms;
  const loop = async (loopRng: Prng) => {
    while (Date.now() < stopAt) {
      const result: SessionResult = await runSession(url, new Prng(loopRng.int(0, 0xffffffff)), pool, stopAt);
      tally.bytes += result.kind === 'failed' ? 0 : result.bytes;
      if (result.kind === 'matched') {
        tally.matched++;
        if (result.ending === 'slow-reader') tally.slowReaders++;
      } else if (result.kind === 'vanished') tally.vanished++;
      else {
        tally.failures.push(`${result.ending}: ${result.detail}`);
        // A bridge that refuses or died must not turn this loop into a busy one.
        await sleep(100);
      }
    }
  };
  await Promise.all(Array.from({ length: sessions }, () => loop(new Prng(rng.int(0, 0xffffffff)))));
}

/** Waits until every session.open has its session.close and the fd count has held still for 2 s. */
async function settle(pid: number, logFile: string): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  let last = -1;
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    const { fds } = sample(pid);
    if (fds !== last) {
      last = fds;
      stableSince = Date.now();
    }
    const counts = logCounts(logFile);
    if (counts.opened === counts.closed && Date.now() - stableSince >= 2000) return;
    await sleep(250);
  }
}

const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const { minutes, sessions, seed } = options();
  const workDir = mkdtempSync(join(tmpdir(), 'wstcp-soak-'));
  try {
    const echoPort = await startEchoTarget();
    const port = await freePort();
    const logFile = join(workDir, 'wstcp.log');
    const out = openSync(logFile, 'a');
    const bridge = start(
      join(ROOT, 'bin', 'wstcp'),
      ['--log-format', 'json', `127.0.0.1:${port}`, `127.0.0.1:${echoPort}`],
      { stdio: ['ignore', out, out], cwd: workDir },
    );
    let bridgeExit: string | undefined;
    bridge.once('exit', (code, signal) => {
      bridgeExit = `the bridge exited (${signal ?? code}) during the run`;
    });
    await waitForPort(port, 30000);
    const pid = bridge.pid as number;
    await sleep(500);
    const initial = sample(pid);
    say(`bridge pid ${pid} on 127.0.0.1:${port}, echo target on ${echoPort}; seed ${seed}`);
    say(`start: ${initial.fds} fds, RSS ${mb(initial.rssKb)}`);

    const rng = new Prng(seed);
    const pool = rng.bytes(2 * 1024 * 1024);
    const url = `ws://127.0.0.1:${port}`;
    const tally: Tally = { matched: 0, vanished: 0, slowReaders: 0, bytes: 0, failures: [] };
    const totalMs = minutes * 60_000;
    const warmMs = Math.max(5000, totalMs / 5);
    const startedAt = Date.now();
    const progress = setInterval(() => {
      const now = sample(pid);
      const counts = logCounts(logFile);
      say(
        `${((Date.now() - startedAt) / 1000).toFixed(0)} s: ${counts.opened - counts.closed} live, ` +
          `${tally.matched} matched, ${tally.vanished} vanished, ${tally.failures.length} failed, ` +
          `${(tally.bytes / 1e6).toFixed(0)} MB sent; bridge ${now.fds} fds, RSS ${mb(now.rssKb)}`,
      );
    }, 10_000);
    try {
      await churn(url, sessions, warmMs, rng, pool, tally);
      await settle(pid, logFile);
      const warm = sample(pid);
      say(`after warm-up: ${warm.fds} fds, RSS ${mb(warm.rssKb)}`);
      await churn(url, sessions, totalMs - warmMs, rng, pool, tally);
      await settle(pid, logFile);
      const end = sample(pid);
      const counts = logCounts(logFile);
      const rssLimitKb = Math.max(warm.rssKb * (1 + RSS_SLACK_FRACTION), warm.rssKb + RSS_SLACK_KB);
      const problems = [...tally.failures.slice(0, 10)];
      if (tally.failures.length > 10)
        problems.push(`... and ${tally.failures.length - 10} more failed sessions`);
      if (bridgeExit) problems.push(bridgeExit);
      if (counts.opened !== counts.closed)
        problems.push(`${counts.opened} session.open but ${counts.closed} session.close in the bridge's log`);
      if (end.fds > initial.fds + FD_SLACK)
        problems.push(`fds ${initial.fds} at start, ${end.fds} at the end`);
      if (end.rssKb > rssLimitKb)
        problems.push(
          `RSS ${mb(end.rssKb)} at the end, over the limit ${mb(rssLimitKb)} (warm ${mb(warm.rssKb)})`,
        );
      const codes = [...counts.codes]
        .sort()
        .map(([k, n]) => `${k}: ${n}`)
        .join(', ');
      process.stdout.write(
        [
          `soak: ${minutes} min, ${sessions} concurrent sessions, seed ${seed}`,
          `sessions: ${counts.opened} opened, ${counts.closed} closed (${codes})`,
          `clients: ${tally.matched} closed cleanly with matching SHA-256 (${tally.slowReaders} slow readers), ` +
            `${tally.vanished} vanished, ${tally.failures.length} failed; ${(tally.bytes / 1e6).toFixed(0)} MB sent`,
          `bridge fds: ${initial.fds} at start, ${end.fds} at the end (limit ${initial.fds + FD_SLACK})`,
          `bridge RSS: ${mb(initial.rssKb)} at start, ${mb(warm.rssKb)} after warm-up, ${mb(end.rssKb)} at the end (limit ${mb(rssLimitKb)})`,
          problems.length ? `FAIL:\n${problems.map((p) => `  - ${p}`).join('\n')}` : 'PASS',
          '',
        ].join('\n'),
      );
      if (problems.length) process.exitCode = 1;
    } finally {
      clearInterval(progress);
    }
  } finally {
    await stopAll();
    rmSync(workDir, { recursive: true, force: true });
  }
}

runMain('soak', main);
