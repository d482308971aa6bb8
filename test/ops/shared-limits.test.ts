/**
 * Limits that hold across processes and instances: --max-connections-per-token, the counts of --workers
 * kept by the primary (a dead worker gives its slots back), and two wstcp instances sharing one count
 * through a real redis-server (--limits-store), the slots of a killed one coming back when its leases expire.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type WebSocket from 'ws';
import { closed, expectRefusal, openClient, receive, startBridge, startEcho } from '../helpers/bridge.js';
import { spawnWstcp, type WstcpProcess } from '../helpers/process.js';
import { requireProgram } from '../helpers/programs.js';
import { tempDir } from '../helpers/tmp.js';
import { startRedis } from '../helpers/tokens.js';

async function echoed(url: string, localAddress?: string): Promise<WebSocket> {
  const ws = await openClient(url, undefined, localAddress ? { localAddress } : {});
  ws.send(Buffer.from('hi'));
  await receive(ws, 2);
  return ws;
}

async function withWstcp(t: { after(fn: () => unknown): void }, args: string[]): Promise<WstcpProcess> {
  const wstcp = await spawnWstcp(args);
  t.after(() => {
    wstcp.kill('SIGKILL');
    return wstcp.exited;
  });
  assert.ok(wstcp.port > 0, wstcp.stderr());
  return wstcp;
}

test('--max-connections-per-token: 429 for a second session on the same token, other tokens unaffected', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const { dir } = tempDir(t);
  const tokens = join(dir, 'tokens');
  writeFileSync(tokens, `desk1: 127.0.0.1:${echo.port}\ndesk2: 127.0.0.1:${echo.port}\n`);
  const running = await startBridge([
    '--token-plugin',
    'TokenFile',
    '--token-source',
    tokens,
    '--max-connections-per-token',
    '1',
    '127.0.0.1:0',
  ]);
  t.after(() => running.close());
  const first = await echoed(`${running.url}/?token=desk1`);
  const refused = await expectRefusal(`${running.url}/?token=desk1`);
  assert.equal(refused.status, 429);
  assert.match(refused.body, /per token/);
  const other = await echoed(`${running.url}/?token=desk2`);
  const gone = closed(first);
  first.close();
  await gone;
  await sleep(50);
  const again = await echoed(`${running.url}/?token=desk1`);
  other.close();
  again.close();
});

test('--workers: --max-connections and --max-connections-per-ip count across all workers', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const wstcp = await withWstcp(t, [
    '--workers',
    '2',
    '--max-connections',
    '3',
    '--max-connections-per-ip',
    '2',
    '127.0.0.1:0',
    `127.0.0.1:${echo.port}`,
  ]);
  for (let i = 0; i < 300 && !wstcp.lines.some((l) => l.event === 'workers.listening'); i++) await sleep(20);
  const url = `ws://127.0.0.1:${wstcp.port}/`;
  // Round-robin spreads these over both workers: each alone would still be under every limit.
  const a = await echoed(url, '127.0.0.2');
  const b = await echoed(url, '127.0.0.2');
  assert.equal((await expectRefusal(url, { localAddress: '127.0.0.2' })).status, 429);
  const c = await echoed(url, '127.0.0.3');
  assert.equal((await expectRefusal(url, { localAddress: '127.0.0.4' })).status, 503);
  const gone = closed(a);
  a.close();
  await gone;
  await sleep(100);
  const d = await echoed(url, '127.0.0.4');
  for (const ws of [b, c, d]) ws.close();
});

test('--workers: the slots of a worker that dies come back', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const wstcp = await withWstcp(t, [
    '--workers',
    '2',
    '--max-connections',
    '2',
    '127.0.0.1:0',
    `127.0.0.1:${echo.port}`,
  ]);
  for (let i = 0; i < 300 && !wstcp.lines.some((l) => l.event === 'workers.listening'); i++) await sleep(20);
  const pids = String(wstcp.lines.find((l) => l.event === 'workers.listening')?.pids)
    .split(',')
    .map(Number);
  const url = `ws://127.0.0.1:${wstcp.port}/`;
  const a = await echoed(url);
  const b = await echoed(url);
  assert.equal((await expectRefusal(url)).status, 503);
  const dropped = [closed(a), closed(b)];
  process.kill(pids[0]!, 'SIGKILL');
  await Promise.race(dropped);
  for (let i = 0; i < 300 && !wstcp.lines.some((l) => l.event === 'worker.restarted'); i++) await sleep(20);
  // One slot was the dead worker's: it is free again, and only that one.
  const c = await echoed(url);
  assert.equal((await expectRefusal(url)).status, 503);
  c.close();
  a.close();
  b.close();
});

test('two instances share --limits-store redis://; a killed instance gives its slots back when its leases expire', async (t) => {
  const program = requireProgram(t, 'redis-server');
  if (!program) return;
  const redis = await startRedis(t, program);
  const echo = await startEcho();
  t.after(() => echo.close());
  const store = `redis://127.0.0.1:${redis.port}/0?lease=2`;
  const args = [
    '--limits-store',
    store,
    '--max-connections',
    '2',
    '--metrics',
    '127.0.0.1:0',
    '127.0.0.1:0',
    `127.0.0.1:${echo.port}`,
  ];
  const one = await withWstcp(t, args);
  const two = await withWstcp(t, args);
  const oneUrl = `ws://127.0.0.1:${one.port}/`;
  const twoUrl = `ws://127.0.0.1:${two.port}/`;
  const a = await echoed(oneUrl);
  const b = await echoed(twoUrl);
  assert.equal((await expectRefusal(oneUrl)).status, 503);
  assert.equal((await expectRefusal(twoUrl)).status, 503);
  // A session longer than a lease keeps its slot: the instance renews it.
  await sleep(2500);
  assert.equal((await expectRefusal(twoUrl)).status, 503);

  one.kill('SIGKILL');
  await one.exited;
  const killedAt = Date.now();
  let c: WebSocket | undefined;
  while (!c && Date.now() - killedAt < 8000) {
    c = await echoed(twoUrl).catch(() => undefined);
    if (!c) await sleep(200);
  }
  assert.ok(c, 'the dead instance slot came back');
  const waited = Date.now() - killedAt;
  assert.ok(waited >= 500 && waited < 6000, `came back after ${waited} ms`);
  assert.equal((await expectRefusal(twoUrl)).status, 503);
  a.terminate();
  b.close();
  c.close();
});

test('--limits-store keeps tokens out of Redis (keys are hashes) and gives a clean slot back on close', async (t) => {
  const program = requireProgram(t, 'redis-server');
  if (!program) return;
  const redis = await startRedis(t, program);
  const echo = await startEcho();
  t.after(() => echo.close());
  const { dir } = tempDir(t);
  const tokens = join(dir, 'tokens');
  writeFileSync(tokens, `secret-desk: 127.0.0.1:${echo.port}\n`);
  const running = await startBridge([
    '--token-plugin',
    'TokenFile',
    '--token-source',
    tokens,
    '--limits-store',
    `redis://127.0.0.1:${redis.port}/0`,
    '--max-connections-per-token',
    '1',
    '127.0.0.1:0',
  ]);
  t.after(() => running.close());
  const ws = await echoed(`${running.url}/?token=secret-desk`);
  const keys = await redis.cli('--scan');
  assert.match(keys, /^wstcp:limits:token:[0-9a-f]{32}$/);
  assert.doesNotMatch(keys, /secret-desk/);
  assert.equal((await expectRefusal(`${running.url}/?token=secret-desk`)).status, 429);
  const gone = closed(ws);
  ws.close();
  await gone;
  for (let i = 0; i < 100 && (await redis.cli('zcard', keys.trim())) !== '0'; i++) await sleep(20);
  assert.equal(await redis.cli('zcard', keys.trim()), '0');
});
