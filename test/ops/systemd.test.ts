/**
 * systemd: socket activation through the real systemd-socket-activate (named sockets, and a restart
 * while clients keep connecting: none is refused), and sd_notify READY/STATUS/STOPPING through the real
 * systemd-notify to a unix datagram socket read by python3 (Node cannot bind one).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { activatedSockets } from '../../src/cli/systemd.js';
import { openClient, receive, startEcho } from '../helpers/bridge.js';
import { httpGet } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { spawnWstcp, WSTCP_BIN } from '../helpers/process.js';
import { requireProgram } from '../helpers/programs.js';
import { tempDir } from '../helpers/tmp.js';

/** JSON log lines of a child's stderr, as they arrive; `raw` has the other lines. */
function logLines(child: ChildProcess, raw: string[] = []): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  let pending = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    raw.push(chunk);
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const text = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
      if (text.startsWith('{')) lines.push(JSON.parse(text) as Record<string, unknown>);
    }
  });
  return lines;
}

/** systemd-socket-activate says "Listening on ADDR as FD." once its sockets are bound. */
async function waitForActivator(raw: string[], sockets: number): Promise<void> {
  const count = () => raw.join('').split('Listening on').length - 1;
  for (let i = 0; i < 300 && count() < sockets; i++) await sleep(10);
  assert.equal(count(), sockets, raw.join(''));
}

async function waitForLines(lines: Record<string, unknown>[], event: string, count: number): Promise<void> {
  for (let i = 0; i < 300 && lines.filter((l) => l.event === event).length < count; i++) await sleep(20);
  assert.ok(
    lines.filter((l) => l.event === event).length >= count,
    `${count} × ${event}: ${JSON.stringify(lines)}`,
  );
}

test('LISTEN_PID must name this process; LISTEN_FDNAMES picks the main and metrics sockets', () => {
  assert.equal(activatedSockets({ LISTEN_FDS: '1', LISTEN_PID: '1' }, 2), undefined);
  assert.deepEqual(activatedSockets({ LISTEN_FDS: '1', LISTEN_PID: '7' }, 7), {
    main: 3,
    metrics: undefined,
    count: 1,
  });
  assert.deepEqual(
    activatedSockets({ LISTEN_FDS: '2', LISTEN_PID: '7', LISTEN_FDNAMES: 'metrics:wstcp' }, 7),
    {
      main: 4,
      metrics: 3,
      count: 2,
    },
  );
});

test('systemd-socket-activate with named sockets: the bridge and the metrics listener take theirs', async (t) => {
  const activate = requireProgram(t, 'systemd-socket-activate', 'systemd');
  if (!activate) return;
  const echo = await startEcho();
  t.after(() => echo.close());
  const [main, metrics] = [await freePort(), await freePort()];
  const child = spawn(
    activate,
    [
      '-l',
      `127.0.0.1:${main}`,
      '-l',
      `127.0.0.1:${metrics}`,
      '--fdname=wstcp:metrics',
      process.execPath,
      WSTCP_BIN,
      '--log-format',
      'json',
      // The listen argument is what the .socket unit would say; the inherited sockets win.
      '127.0.0.1:1',
      `127.0.0.1:${echo.port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  t.after(() => {
    child.kill('SIGKILL');
  });
  const raw: string[] = [];
  const lines = logLines(child, raw);
  await waitForActivator(raw, 2);
  // The first connection makes systemd-socket-activate start wstcp; it waits in the backlog meanwhile.
  const ws = await openClient(`ws://127.0.0.1:${main}/`);
  ws.send(Buffer.from('activated'));
  assert.equal((await receive(ws, 9)).toString(), 'activated');
  assert.equal((await httpGet(metrics, '/readyz')).status, 200);
  await waitForLines(lines, 'bridge.listening', 1);
  assert.equal(lines.find((l) => l.event === 'bridge.listening')?.listen, `127.0.0.1:${main}`);
  ws.close();
});

test('a restart through socket activation refuses no connection', async (t) => {
  const activate = requireProgram(t, 'systemd-socket-activate', 'systemd');
  if (!activate) return;
  const echo = await startEcho();
  t.after(() => echo.close());
  const port = await freePort();
  // What systemd does with a .socket unit: the socket stays open in the manager (here the shell that
  // systemd-socket-activate started, holding descriptor 3) while the service is stopped and started.
  const script = [
    'start() { sh -c \'LISTEN_PID=$$; export LISTEN_PID; exec "$@"\' wstcp "$@" & }',
    `start "$NODE" "$WSTCP" --log-format json --drain-timeout 5 127.0.0.1:1 127.0.0.1:${echo.port}`,
    'first=$!',
    'read line',
    'kill -TERM $first',
    `start "$NODE" "$WSTCP" --log-format json --drain-timeout 5 127.0.0.1:1 127.0.0.1:${echo.port}`,
    'second=$!',
    'wait $first',
    'read line',
    'kill -TERM $second',
    'wait $second',
  ].join('\n');
  // systemd-socket-activate passes on only the variables it is told to (-E).
  const env = ['-E', `NODE=${process.execPath}`, '-E', `WSTCP=${WSTCP_BIN}`];
  const child = spawn(activate, ['-l', `127.0.0.1:${port}`, ...env, '/bin/sh', '-c', script], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  t.after(() => {
    child.kill('SIGKILL');
  });
  const raw: string[] = [];
  const lines = logLines(child, raw);
  await waitForActivator(raw, 1);
  let served = 0;
  const failures: string[] = [];
  let running = true;
  const clients = (async () => {
    for (let i = 0; running && i < 2000; i++) {
      try {
        const ws = await openClient(`ws://127.0.0.1:${port}/`);
        ws.send(Buffer.from(`n${i}`));
        await receive(ws, String(i).length + 1);
        ws.close();
        served++;
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  })();
  await waitForLines(lines, 'bridge.listening', 1);
  await sleep(300);
  const before = served;
  child.stdin!.write('restart\n');
  await waitForLines(lines, 'bridge.stopped', 1);
  await waitForLines(lines, 'bridge.listening', 2);
  await sleep(300);
  running = false;
  await clients;
  assert.deepEqual(failures, []);
  assert.ok(before > 0 && served > before, `served ${before} before the restart, ${served} in all`);
  child.stdin!.end('stop\n');
  await once(child, 'exit');
});

/** A unix datagram socket read by python3 (Node cannot bind one); `received()` is what arrived so far. */
async function notifyReceiver(t: { after(fn: () => unknown): void }, python: string) {
  const { dir } = tempDir(t, 'wstcp-notify-');
  const socket = join(dir, 'notify.sock');
  const receiver = spawn(
    python,
    [
      '-c',
      [
        'import socket, sys',
        's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
        `s.bind(${JSON.stringify(socket)})`,
        'print("bound", flush=True)',
        'while True:',
        '    data = s.recv(4096)',
        '    print(data.decode().replace("\\n", "|"), flush=True)',
      ].join('\n'),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => {
    receiver.kill('SIGKILL');
  });
  let received = '';
  receiver.stdout!.setEncoding('utf8');
  receiver.stdout!.on('data', (chunk: string) => {
    received += chunk;
  });
  for (let i = 0; i < 200 && !received.includes('bound'); i++) await sleep(10);
  return {
    socket,
    received: () => received,
    waitFor: async (text: string) => {
      for (let i = 0; i < 500 && !received.includes(text); i++) await sleep(10);
      assert.ok(received.includes(text), `${text} in ${received}`);
    },
  };
}

test('sd_notify: READY=1 with a STATUS once listening, STOPPING=1 on SIGTERM (systemd-notify)', async (t) => {
  const notify = requireProgram(t, 'systemd-notify', 'systemd');
  const python = requireProgram(t, 'python3');
  if (!notify || !python) return;
  const echo = await startEcho();
  t.after(() => echo.close());
  const receiver = await notifyReceiver(t, python);
  const wstcp = await spawnWstcp(['127.0.0.1:0', `127.0.0.1:${echo.port}`], 20000, {
    ...process.env,
    NOTIFY_SOCKET: receiver.socket,
  });
  t.after(() => {
    wstcp.kill('SIGKILL');
  });
  await receiver.waitFor('READY=1');
  assert.match(receiver.received(), new RegExp(`STATUS=listening on 127\\.0\\.0\\.1:${wstcp.port}`));
  wstcp.kill('SIGTERM');
  assert.equal(await wstcp.exited, 0);
  await receiver.waitFor('STOPPING=1');
});

test('sd_notify under --workers: the primary says READY=1 once a worker listens, and only it', async (t) => {
  // Reproduces: with Type=notify and --workers, nobody sent READY=1 and systemd timed the start out.
  const notify = requireProgram(t, 'systemd-notify', 'systemd');
  const python = requireProgram(t, 'python3');
  if (!notify || !python) return;
  const echo = await startEcho();
  t.after(() => echo.close());
  const receiver = await notifyReceiver(t, python);
  const wstcp = await spawnWstcp(['--workers', '2', '127.0.0.1:0', `127.0.0.1:${echo.port}`], 20000, {
    ...process.env,
    NOTIFY_SOCKET: receiver.socket,
  });
  t.after(() => {
    wstcp.kill('SIGKILL');
  });
  await receiver.waitFor('READY=1');
  await sleep(500);
  assert.equal(receiver.received().split('READY=1').length - 1, 1, receiver.received());
  wstcp.kill('SIGTERM');
  await receiver.waitFor('STOPPING=1');
  assert.equal(await wstcp.exited, 0);
});
