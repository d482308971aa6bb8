/**
 * A rolling restart behind a real HAProxy: two wstcp processes with --drain-timeout, HAProxy probing each
 * one's /readyz on its metrics port. SIGTERM on one must lose no session: its live sessions keep working
 * and end with their own code, new sessions go to the other instance, and once restarted it gets traffic again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type WebSocket from 'ws';
import { closed, openClient, receive, startEcho } from '../helpers/bridge.js';
import { httpGet } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { spawnWstcp, type WstcpProcess } from '../helpers/process.js';
import { startHaproxy } from '../helpers/proxies.js';

interface Instance {
  readonly port: number;
  readonly metrics: number;
}

async function startInstance(
  t: { after(fn: () => unknown): void },
  instance: Instance,
  target: string,
): Promise<WstcpProcess> {
  const wstcp = await spawnWstcp([
    '--drain-timeout',
    '5',
    '--metrics',
    `127.0.0.1:${instance.metrics}`,
    `127.0.0.1:${instance.port}`,
    target,
  ]);
  t.after(() => {
    wstcp.kill('SIGKILL');
    return wstcp.exited;
  });
  assert.equal(wstcp.port, instance.port, wstcp.stderr());
  return wstcp;
}

function opened(wstcp: WstcpProcess): number {
  return wstcp.lines.filter((l) => l.event === 'session.open').length;
}

/** Sends a distinct payload and checks it comes back whole. */
async function echoes(ws: WebSocket, text: string): Promise<void> {
  ws.send(Buffer.from(text));
  assert.equal((await receive(ws, text.length, 5000)).toString(), text);
}

// Reproduces the issue-13 promise: without the /readyz probe and the drain, a deploy cut every session.
test('rolling restart behind HAProxy with --drain-timeout loses no session that ends within the timeout', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const target = `127.0.0.1:${echo.port}`;
  const a: Instance = { port: await freePort(), metrics: await freePort() };
  const b: Instance = { port: await freePort(), metrics: await freePort() };
  let wstcpA = await startInstance(t, a, target);
  const wstcpB = await startInstance(t, b, target);
  const front = await freePort();
  const haproxy = await startHaproxy(
    t,
    [
      'listen ws',
      `  bind 127.0.0.1:${front}`,
      '  balance roundrobin',
      '  option httpchk GET /readyz',
      '  option redispatch',
      '  retries 3',
      `  server a 127.0.0.1:${a.port} check port ${a.metrics} inter 200ms fall 1 rise 1`,
      `  server b 127.0.0.1:${b.port} check port ${b.metrics} inter 200ms fall 1 rise 1`,
    ].join('\n'),
    [front],
  );
  if (!haproxy) return;
  await sleep(500);
  const url = `ws://127.0.0.1:${front}/`;

  const before = [];
  for (let i = 0; i < 6; i++) before.push(await openClient(url));
  for (const [i, ws] of before.entries()) await echoes(ws, `before-${i}`);
  const onA = opened(wstcpA);
  assert.ok(onA > 0 && opened(wstcpB) > 0, `both instances get sessions (a: ${onA}, b: ${opened(wstcpB)})`);

  const exitedA = wstcpA.exited;
  wstcpA.kill('SIGTERM');
  for (let i = 0; i < 100 && !wstcpA.lines.some((l) => l.event === 'bridge.draining'); i++) await sleep(10);
  assert.equal((await httpGet(a.metrics, '/readyz')).status, 503);

  // New sessions during the drain: every one succeeds, none lands on the draining instance.
  const onBBefore = opened(wstcpB);
  const during = [];
  for (let i = 0; i < 6; i++) {
    const ws = await openClient(url);
    await echoes(ws, `during-${i}`);
    during.push(ws);
    await sleep(50);
  }
  assert.equal(opened(wstcpA), onA, 'no new session reached the draining instance');
  assert.equal(opened(wstcpB), onBBefore + 6);

  // The old sessions still carry data both ways, then end with their own code well within the timeout.
  for (const [i, ws] of before.entries()) await echoes(ws, `still-${i}`);
  for (const ws of before) {
    const done = closed(ws);
    ws.close(1000, 'done');
    assert.equal((await done).code, 1000);
  }
  assert.equal(await exitedA, 0);
  assert.equal(wstcpA.lines.find((l) => l.event === 'bridge.drained')?.sessions, 0);

  // Restarted on the same ports, the instance gets new sessions again once HAProxy sees it ready.
  wstcpA = await startInstance(t, a, target);
  const after = [];
  for (let i = 0; i < 40 && opened(wstcpA) === 0; i++) {
    const ws = await openClient(url);
    await echoes(ws, `after-${i}`);
    after.push(ws);
    await sleep(100);
  }
  assert.ok(opened(wstcpA) > 0, 'the restarted instance takes sessions again');
  for (const ws of [...during, ...after]) ws.close(1000);
});
