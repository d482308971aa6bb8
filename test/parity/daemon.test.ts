// -D/--daemon: the command returns once a detached copy listens (exit 0, nothing printed), or with the
// copy's one-line startup error (exit 1). The daemon runs in its own session and serves until killed by the
// pid it logs.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseArgs } from '../../src/cli.js';
import { ConfigError } from '../../src/errors.js';
import { openClient, receive, startEcho, waitFor } from '../helpers/bridge.js';
import { spawnWstcp } from '../helpers/process.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function logLines(path: string): Record<string, unknown>[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    return [];
  }
}

test('--daemon detaches, returns 0 silently, and the daemon serves until SIGTERM', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const dir = mkdtempSync(join(tmpdir(), 'wstcp-daemon-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logFile = join(dir, 'wstcp.log');

  const started = Date.now();
  const foreground = await spawnWstcp([
    '--daemon',
    '--log-file',
    logFile,
    '127.0.0.1:0',
    `127.0.0.1:${echo.port}`,
  ]);
  assert.equal(await foreground.exited, 0);
  assert.equal(foreground.stderr(), '');
  assert.equal(foreground.stdout(), '');

  // The daemon logs its pid and address (the file stream may flush a moment after it reported).
  const find = (event: string) => logLines(logFile).find((l) => l.event === event);
  await waitFor(() => find('daemon.detached') !== undefined, 5000, "the daemon's pid in its log");
  const pid = Number(find('daemon.detached')!.pid);
  t.after(() => alive(pid) && process.kill(pid, 'SIGKILL'));
  const listening = find('bridge.listening')!;
  assert.notEqual(pid, foreground.child.pid);
  assert.ok(alive(pid), 'the daemon outlives the command');
  // Field 6 of /proc/PID/stat is the session id: setsid() made the daemon the leader of its own.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  assert.equal(Number(fields[3]), pid, 'the daemon leads its own session');

  const port = Number(String(listening.listen).split(':').pop());
  const ws = await openClient(`ws://127.0.0.1:${port}`);
  ws.send(Buffer.from('daemon'));
  assert.equal((await receive(ws, 6)).toString(), 'daemon');
  ws.close();

  process.kill(pid, 'SIGTERM');
  await waitFor(() => !alive(pid), 10000, 'the daemon to exit');
  assert.ok(logLines(logFile).some((l) => l.event === 'bridge.stopped'));
  assert.ok(Date.now() - started < 20000);
});

test("--daemon reports the daemon's startup error on stderr and exits 1", async (t) => {
  const busy = createServer();
  busy.listen(0, '127.0.0.1');
  await once(busy, 'listening');
  t.after(() => busy.close());
  const address = busy.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const foreground = await spawnWstcp(['--daemon', `127.0.0.1:${port}`, '127.0.0.1:1']);
  assert.equal(await foreground.exited, 1);
  assert.match(
    foreground.stderr(),
    /^wstcp: cannot listen on 127\.0\.0\.1:\d+: the address is in use \(EADDRINUSE\)[^\n]*\n$/,
  );
});

test('--daemon with a bad flag fails in the foreground (exit 2) before anything detaches', async () => {
  const foreground = await spawnWstcp(['--daemon', '--heartbeat', 'soon', '127.0.0.1:0', '127.0.0.1:1']);
  assert.equal(await foreground.exited, 2);
  assert.match(foreground.stderr(), /^wstcp: --heartbeat needs a number/);
  for (const [argv, message] of [
    [['-D', '--workers', '2', '6080', 'h:1'], /--daemon cannot be combined with --workers/],
    [['-D', '--inetd', 'h:1'], /--daemon cannot be combined with --inetd/],
  ] as [string[], RegExp][]) {
    assert.throws(
      () => parseArgs(argv),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
      argv.join(' '),
    );
  }
  assert.equal(parseArgs(['-D', '6080', 'h:1']).daemon, true);
});

// A bad flag value found by the detached copy (a missing token file) made the foreground exit 1, not 2.
test('--daemon: a missing file found while starting exits 2 in the foreground, naming the flag', async () => {
  const foreground = await spawnWstcp([
    '--daemon',
    '--tokens',
    'file:/nonexistent-wstcp-tokens',
    '127.0.0.1:0',
  ]);
  assert.equal(await foreground.exited, 2);
  assert.match(foreground.stderr(), /^wstcp: --tokens: \/nonexistent-wstcp-tokens: no such file/);
});
