// How sessions and the process end: heartbeat detection of dead peers (websockify pings but never notices a
// missing pong), SIGTERM/SIGINT closing sessions with 1001, --run-once, --timeout and --idle-timeout.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closed, openClient, receive, startBridge, startEcho, waitFor } from '../helpers/bridge.js';
import { spawnWstcp } from '../helpers/process.js';

test('--heartbeat drops a client that stops answering pings, keeps one that answers', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${echo.port}`, '--heartbeat', '0.2']);
  t.after(() => bridge.close());
  const silent = await openClient(bridge.url, undefined, { autoPong: false });
  const healthy = await openClient(bridge.url);
  const close = await closed(silent);
  assert.equal(close.code, 1006, 'the silent peer was dropped');
  await waitFor(() => bridge.bridge.sessions.size === 1, 2000, 'the dead session to end');
  assert.ok(bridge.logs.some((l) => l.includes('heartbeat timeout')));
  await new Promise((resolve) => setTimeout(resolve, 500));
  healthy.send(Buffer.from('alive'));
  assert.equal((await receive(healthy, 5)).toString(), 'alive');
  healthy.close();
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal}: sessions are closed with 1001, the process exits 0`, async (t) => {
    const echo = await startEcho();
    t.after(() => echo.close());
    const wstcp = await spawnWstcp(['127.0.0.1:0', `127.0.0.1:${echo.port}`]);
    t.after(() => wstcp.kill('SIGKILL'));
    const url = `ws://127.0.0.1:${wstcp.port}`;
    const clients = await Promise.all([openClient(url), openClient(url), openClient(url)]);
    const closes = Promise.all(clients.map(closed));
    wstcp.kill(signal);
    for (const close of await closes) {
      assert.equal(close.code, 1001);
      assert.match(close.reason, /shutting down/);
    }
    assert.equal(await wstcp.exited, 0);
    const stopped = wstcp.lines.find((l) => l.event === 'bridge.stopped');
    assert.equal(stopped?.opened, 3);
    assert.equal(stopped?.closed, 3);
  });
}

test('--run-once serves one session and exits when it ends', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const wstcp = await spawnWstcp(['127.0.0.1:0', `127.0.0.1:${echo.port}`, '--run-once']);
  t.after(() => wstcp.kill('SIGKILL'));
  const ws = await openClient(`ws://127.0.0.1:${wstcp.port}`);
  ws.send(Buffer.from('once'));
  assert.equal((await receive(ws, 4)).toString(), 'once');
  ws.close();
  assert.equal(await wstcp.exited, 0);
  assert.equal(wstcp.lines.filter((l) => l.event === 'session.open').length, 1);
});

test('--timeout stops accepting and exits; --idle-timeout exits with no session', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const timed = await spawnWstcp(['127.0.0.1:0', `127.0.0.1:${echo.port}`, '--timeout', '0.3']);
  const idle = await spawnWstcp(['127.0.0.1:0', `127.0.0.1:${echo.port}`, '--idle-timeout', '0.3']);
  t.after(() => {
    timed.kill('SIGKILL');
    idle.kill('SIGKILL');
  });
  assert.equal(await timed.exited, 0);
  assert.ok(timed.lines.some((l) => l.event === 'bridge.accept_timeout'));
  assert.equal(await idle.exited, 0);
  assert.ok(idle.lines.some((l) => l.event === 'bridge.idle_timeout'));
});

test('--idle-timeout waits while a session is live', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const wstcp = await spawnWstcp(['127.0.0.1:0', `127.0.0.1:${echo.port}`, '--idle-timeout', '0.3']);
  t.after(() => wstcp.kill('SIGKILL'));
  const ws = await openClient(`ws://127.0.0.1:${wstcp.port}`);
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal(wstcp.child.exitCode, null, 'still running with a live session');
  ws.close();
  assert.equal(await wstcp.exited, 0);
});
