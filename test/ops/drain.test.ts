/**
 * Graceful drain (--drain-timeout): on SIGTERM /readyz turns 503 and no connection is accepted; sessions
 * that end within the timeout end normally, the rest get 1001 at the deadline; a second signal exits at once.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { closed, openClient, startEcho } from '../helpers/bridge.js';
import { httpGet, metricsPort, spawnWorkersWithMetrics } from '../helpers/metrics.js';
import { spawnWstcp } from '../helpers/process.js';

async function drainingWstcp(t: { after(fn: () => unknown): void }, seconds: number) {
  const echo = await startEcho();
  t.after(() => echo.close());
  const wstcp = await spawnWstcp([
    '--metrics',
    '127.0.0.1:0',
    '--drain-timeout',
    String(seconds),
    '127.0.0.1:0',
    `127.0.0.1:${echo.port}`,
  ]);
  t.after(() => {
    wstcp.kill('SIGKILL');
    return wstcp.exited;
  });
  return { wstcp, metrics: metricsPort(wstcp) };
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

test('SIGTERM with --drain-timeout: readyz 503, no new connections, a session ending in time ends normally, the other gets 1001 at the deadline', async (t) => {
  const { wstcp, metrics } = await drainingWstcp(t, 1.5);
  const url = `ws://127.0.0.1:${wstcp.port}/`;
  const finishing = await openClient(url);
  const lingering = await openClient(url);
  const lingeringClosed = closed(lingering);
  assert.equal((await httpGet(metrics, '/readyz')).status, 200);
  const signalled = Date.now();
  wstcp.kill('SIGTERM');
  for (let i = 0; i < 100 && !wstcp.lines.some((l) => l.event === 'bridge.draining'); i++) await sleep(10);
  const ready = await httpGet(metrics, '/readyz');
  assert.deepEqual([ready.status, ready.body], [503, 'draining\n']);
  assert.equal(await refusesConnections(wstcp.port), true);

  // A session that ends by itself during the drain closes with its own code, not 1001.
  const finished = closed(finishing);
  finishing.close(1000, 'done');
  assert.equal((await finished).code, 1000);
  await sleep(200);
  assert.equal((await httpGet(metrics, '/readyz')).status, 503, '/readyz stays 503 throughout the drain');

  const last = await lingeringClosed;
  const elapsed = Date.now() - signalled;
  assert.equal(last.code, 1001);
  assert.ok(elapsed >= 1400 && elapsed < 5000, `closed after ${elapsed} ms`);
  assert.equal(await wstcp.exited, 0);
  const draining = wstcp.lines.find((l) => l.event === 'bridge.draining');
  const drained = wstcp.lines.find((l) => l.event === 'bridge.drained');
  assert.equal(draining?.sessions, 2);
  assert.equal(drained?.sessions, 1);
});

test('a drain ends as soon as the last session does, well before the timeout', async (t) => {
  const { wstcp } = await drainingWstcp(t, 30);
  const ws = await openClient(`ws://127.0.0.1:${wstcp.port}/`);
  wstcp.kill('SIGTERM');
  await sleep(200);
  ws.close(1000);
  const started = Date.now();
  assert.equal(await wstcp.exited, 0);
  assert.ok(Date.now() - started < 3000);
  assert.equal(wstcp.lines.find((l) => l.event === 'bridge.drained')?.sessions, 0);
});

test('a second signal during the drain exits at once', async (t) => {
  const { wstcp } = await drainingWstcp(t, 30);
  await openClient(`ws://127.0.0.1:${wstcp.port}/`);
  wstcp.kill('SIGTERM');
  for (let i = 0; i < 100 && !wstcp.lines.some((l) => l.event === 'bridge.draining'); i++) await sleep(10);
  const started = Date.now();
  wstcp.kill('SIGTERM');
  assert.equal(await wstcp.exited, 130);
  assert.ok(Date.now() - started < 2000);
});

test('without --drain-timeout, SIGTERM closes sessions with 1001 at once (the old behaviour)', async (t) => {
  const { wstcp } = await drainingWstcp(t, 0);
  const ws = await openClient(`ws://127.0.0.1:${wstcp.port}/`);
  const started = Date.now();
  wstcp.kill('SIGTERM');
  assert.equal((await closed(ws)).code, 1001);
  assert.ok(Date.now() - started < 1000);
  assert.equal(
    wstcp.lines.some((l) => l.event === 'bridge.draining'),
    false,
  );
});

test('--workers with --drain-timeout: the primary readyz turns 503, workers drain, then 1001', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const wstcp = await spawnWorkersWithMetrics(t, 2, echo.port, ['--drain-timeout', '1.5']);
  const metrics = metricsPort(wstcp);
  const url = `ws://127.0.0.1:${wstcp.port}/`;
  const finishing = await openClient(url);
  const lingering = await openClient(url);
  const lingeringClosed = closed(lingering);
  const signalled = Date.now();
  wstcp.kill('SIGTERM');
  for (let i = 0; i < 100 && (await httpGet(metrics, '/readyz')).status !== 503; i++) await sleep(10);
  assert.equal((await httpGet(metrics, '/readyz')).status, 503);
  const finished = closed(finishing);
  finishing.close(1000);
  assert.equal((await finished).code, 1000);
  const last = await lingeringClosed;
  const elapsed = Date.now() - signalled;
  assert.equal(last.code, 1001);
  assert.ok(elapsed >= 1400 && elapsed < 8000, `closed after ${elapsed} ms`);
  assert.equal(await wstcp.exited, 0);
});
