/**
 * --workers: the real command line with a primary and forked workers sharing one port, real WebSocket
 * clients and a real TCP echo target on loopback. Covers: sessions spread over the workers, SIGTERM
 * closing every session with 1001 and a clean exit with the counters summed, a crashed worker replaced,
 * and configurations that must be refused instead of half-working.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startTcpServer, type TcpTarget } from '../helpers/bridge.js';
import { freePort } from '../helpers/ports.js';
import { requireProgram } from '../helpers/programs.js';
import { startRedis } from '../helpers/tokens.js';

const WSTCP = fileURLToPath(new URL('../../../bin/wstcp', import.meta.url));

interface LogLine {
  event: string;
  [field: string]: unknown;
}

interface Cluster {
  child: ChildProcess;
  port: number;
  lines: LogLine[];
  /** Resolves with the first log line for which `match` is true (waits up to `ms`). */
  waitFor(match: (line: LogLine) => boolean, ms?: number): Promise<LogLine>;
  exited: Promise<number | null>;
}

function runWstcp(args: string[]): Cluster {
  const child = spawn(process.execPath, [WSTCP, '--log-format', 'json', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiters: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  let partial = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop()!;
    for (const part of parts) {
      if (!part.startsWith('{')) continue;
      const line = JSON.parse(part) as LogLine;
      lines.push(line);
      for (const waiter of waiters.splice(0)) {
        if (waiter.match(line)) waiter.resolve(line);
        else waiters.push(waiter);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    port: Number(args.at(-2)?.split(':')[1] ?? 0),
    lines,
    exited,
    waitFor(match, ms = 10_000) {
      const found = lines.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const seen = () => lines.map((l) => l.event).join(', ');
        const timer = setTimeout(
          () => reject(new Error(`expected log line did not come (seen: ${seen()})`)),
          ms,
        );
        waiters.push({
          match,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
  };
}

async function startEchoTarget(): Promise<TcpTarget> {
  return startTcpServer((socket) => socket.pipe(socket));
}

async function startCluster(t: { after(fn: () => unknown): void }, workers: number, target: TcpTarget) {
  const port = await freePort();
  const cluster = runWstcp(['--workers', String(workers), `127.0.0.1:${port}`, `127.0.0.1:${target.port}`]);
  t.after(async () => {
    if (cluster.child.exitCode === null && cluster.child.signalCode === null) {
      // Take the workers down too: they are in the primary's process group only when started from a shell.
      for (const pid of workerPids(cluster.child.pid!)) process.kill(pid, 'SIGKILL');
      cluster.child.kill('SIGKILL');
      await cluster.exited;
    }
  });
  await cluster.waitFor((line) => line.event === 'workers.listening');
  return cluster;
}

/** Live child processes of `pid` (the workers of a primary). */
function workerPids(pid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') pids.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

function socketCount(pid: number): number {
  let count = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) count++;
    } catch {
      // Closed while we looked.
    }
  }
  return count;
}

/** Opens a session and proves it relays by echoing `text` through the target. */
async function openEchoedSession(port: number, text: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  await once(ws, 'open');
  const reply = once(ws, 'message');
  ws.send(Buffer.from(text));
  const [data] = (await reply) as [Buffer];
  assert.equal(data.toString(), text);
  return ws;
}

function closeCode(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code: number) => resolve(code)));
}

test('sessions spread over the workers; SIGTERM closes each with 1001 and sums the counters', async (t) => {
  const target = await startEchoTarget();
  t.after(() => target.close());
  const cluster = await startCluster(t, 2, target);
  const pids = workerPids(cluster.child.pid!);
  assert.equal(pids.length, 2);
  const before = new Map(pids.map((pid) => [pid, socketCount(pid)]));

  const sessions: WebSocket[] = [];
  for (let i = 0; i < 6; i++) sessions.push(await openEchoedSession(cluster.port, `hello ${i}`));
  // Each session holds a client and a target socket in the worker that serves it.
  for (const pid of pids) {
    assert.ok(socketCount(pid) - before.get(pid)! >= 2, `worker ${pid} serves no session`);
  }

  const codes = sessions.map(closeCode);
  cluster.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all(codes), [1001, 1001, 1001, 1001, 1001, 1001]);
  assert.equal(await cluster.exited, 0);
  const stopped = cluster.lines.find((line) => line.event === 'workers.stopped');
  assert.ok(stopped, 'the primary reports the summed counters');
  assert.equal(stopped.opened, 6);
  assert.equal(stopped.closed, 6);
  assert.equal(stopped.live, 0);
  assert.equal(stopped.bytesToTarget, 6 * 'hello 0'.length);
  assert.equal(stopped.bytesToClient, 6 * 'hello 0'.length);
});

test('a crashed worker is replaced and the port keeps serving', async (t) => {
  const target = await startEchoTarget();
  t.after(() => target.close());
  const cluster = await startCluster(t, 2, target);
  const [victim] = workerPids(cluster.child.pid!);
  process.kill(victim!, 'SIGKILL');
  // Generous bounds: a replacement is a new node process, slow to start on a loaded 2-core machine.
  const restarted = await cluster.waitFor((line) => line.event === 'worker.restarted', 30_000);
  // The replacement announces itself like any worker; give it a moment to join the port. (The victim may
  // have died before logging its own bridge.listening: the primary's workers.listening can come first.)
  await cluster.waitFor(
    (line) =>
      line.event === 'bridge.listening' && cluster.lines.indexOf(line) > cluster.lines.indexOf(restarted),
    30_000,
  );
  const now = workerPids(cluster.child.pid!);
  assert.equal(now.length, 2);
  assert.ok(!now.includes(victim!));
  const sessions: WebSocket[] = [];
  for (let i = 0; i < 4; i++) sessions.push(await openEchoedSession(cluster.port, `again ${i}`));
  const codes = sessions.map(closeCode);
  cluster.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all(codes), [1001, 1001, 1001, 1001]);
  assert.equal(await cluster.exited, 0);
});

test('a worker that cannot listen stops the primary instead of restarting forever', async (t) => {
  const target = await startEchoTarget();
  const busy = createServer().listen(0, '127.0.0.1');
  await once(busy, 'listening');
  t.after(() => {
    busy.close();
    return target.close();
  });
  const address = busy.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const cluster = runWstcp(['--workers', '2', `127.0.0.1:${port}`, `127.0.0.1:${target.port}`]);
  t.after(() => cluster.child.kill('SIGKILL'));
  assert.equal(await cluster.exited, 1);
  assert.ok(cluster.lines.some((line) => line.event === 'worker.failed_to_start'));
  assert.equal(cluster.lines.filter((line) => line.event === 'worker.restarted').length, 0);
});

test('--workers with --unix-listen, --run-once or --max-forks is refused with exit code 2', async (t) => {
  const target = await startEchoTarget();
  t.after(() => target.close());
  for (const extra of [
    ['--unix-listen', '/tmp/wstcp-workers-test.sock'],
    ['--run-once', '127.0.0.1:1'],
    // Each worker would count only its own programs: 2 workers would run up to twice as many.
    ['--max-forks', '2', '--cmd', 'cat', '127.0.0.1:1'],
  ]) {
    const args = ['--workers', '2', ...extra];
    if (!extra.includes('--cmd')) args.push(`127.0.0.1:${target.port}`);
    const child = spawn(process.execPath, [WSTCP, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 2, stderr);
    assert.match(stderr, /--workers/);
  }
});

test('--workers with --channel-feed: the feed runs in one worker only, so each line is published once', async (t) => {
  // Before, every worker ran every feed: each line reached subscribers once per worker.
  const program = requireProgram(t, 'redis-server');
  if (!program) return;
  const redis = await startRedis(t, program);
  const port = await freePort();
  const feed = `sh -c 'i=0; while [ $i -lt 300 ]; do echo "$$-$i"; i=$((i+1)); sleep 0.01; done; sleep 30'`;
  const cluster = runWstcp([
    '--workers',
    '2',
    '--channels=',
    '--channel-store',
    `redis://127.0.0.1:${redis.port}`,
    '--channel-first',
    'newest',
    '--channel-feed',
    `ticks=cmd:${feed}`,
    `127.0.0.1:${port}`,
  ]);
  t.after(async () => {
    if (cluster.child.exitCode === null) {
      cluster.child.kill('SIGTERM');
      await cluster.exited;
    }
  });
  await cluster.waitFor((line) => line.event === 'workers.listening');
  // Two subscribers: round-robin puts them on different workers.
  const received = await Promise.all(
    [0, 1].map(async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/sub/ticks`);
      const lines: string[] = [];
      ws.on('message', (data: Buffer) => lines.push(data.toString()));
      await once(ws, 'open');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      ws.close();
      return lines;
    }),
  );
  for (const lines of received) {
    assert.ok(lines.length >= 20, `received ${lines.length} lines`);
    assert.equal(new Set(lines.map((line) => line.split('-')[0])).size, 1, 'one program publishes');
    assert.equal(new Set(lines).size, lines.length, 'no line twice');
  }
  assert.equal(cluster.lines.filter((line) => line.event === 'channel.feed_started').length, 1);
});
