// A bridge that runs out of file descriptors (EMFILE) must refuse new sessions with 503, keep its live ones,
// and serve again once descriptors are free, rather than crash. Runs wstcp under `ulimit -n 64`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import type WebSocket from 'ws';
import { closed, openClient, receive, startEcho, waitFor } from '../helpers/bridge.js';
import { WSTCP_BIN } from '../helpers/process.js';

test('out of file descriptors: 503 for new sessions, live sessions unharmed, recovery after', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const { port, child } = await startLimitedBridge(t, echo.port);
  const url = `ws://127.0.0.1:${port}`;

  const live: WebSocket[] = [];
  // Each session takes two descriptors: when the last one goes to the accepted socket, the target connect
  // fails with EMFILE (-> 503); when none is left, the kernel connection is accepted and dropped by libuv.
  const refusals: string[] = [];
  for (let i = 0; i < 60 && refusals.length < 4; i++) {
    try {
      live.push(await openClient(url));
    } catch (err) {
      refusals.push((err as Error).message);
    }
  }
  assert.ok(live.length > 5, `some sessions opened (${live.length})`);
  for (const refusal of refusals) assert.match(refusal, /unexpected HTTP 503|ECONNRESET|socket hang up/);
  assert.ok(refusals.length > 0, 'descriptors ran out');
  assert.equal(child.exitCode, null, 'the bridge is still running');

  const first = live[0]!;
  first.send(Buffer.from('still works'));
  assert.equal((await receive(first, 11)).toString(), 'still works');

  for (const ws of live.splice(0, 20)) {
    ws.close();
    await closed(ws);
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  const again = await openClient(url);
  again.send(Buffer.from('again'));
  assert.equal((await receive(again, 5)).toString(), 'again');
  for (const ws of [...live, again]) ws.terminate();
  child.kill('SIGTERM');
  await once(child, 'exit');
});

/** Runs wstcp under `ulimit -n 64` (JSON logs on stderr) and resolves once it listens. */
async function startLimitedBridge(t: TestContext, targetPort: number) {
  const child = spawn(
    'sh',
    [
      '-c',
      `ulimit -n 64 && exec "${process.execPath}" "${WSTCP_BIN}" --log-format json 127.0.0.1:0 127.0.0.1:${targetPort}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      const match = /"listen":"127\.0\.0\.1:(\d+)"/.exec(stderr);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', () => reject(new Error(`wstcp exited: ${stderr}`)));
  });
  const lines = () =>
    stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { port, child, lines };
}

// libuv accepts and closes connections itself when the process has no descriptor left (its EMFILE trick),
// so Node never emits an error: clients were dropped and nothing was logged. Now one accept.failed line
// with cause EMFILE says so, however many connections are dropped.
test('out of file descriptors: one rate-limited accept.failed line with cause EMFILE', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const { port, child, lines } = await startLimitedBridge(t, echo.port);
  const sockets: Socket[] = [];
  t.after(() => {
    for (const socket of sockets) socket.destroy();
  });
  let dropped = 0;
  // Each idle connection holds one descriptor of the bridge: 80 are more than 64 can hold.
  for (let i = 0; i < 80; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.on('close', () => dropped++);
    sockets.push(socket);
    await once(socket, 'connect');
  }
  await waitFor(() => dropped > 5, 5000, 'connections dropped at the limit');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const failures = lines().filter((line) => line.event === 'accept.failed');
  assert.equal(failures.length, 1, `one line for ${dropped} dropped connections`);
  assert.equal(failures[0]!.cause, 'EMFILE');
  assert.equal(child.exitCode, null, 'the bridge is still running');
});
