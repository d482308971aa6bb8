// Failover and health through a running bridge (issue 16): a member killed in the middle of a run, a
// black-holed member, active health checks, and the 502 that names how many members were tried. No
// handshake may fail while one member lives.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { startBlackHole } from '../helpers/black-hole.js';
import { closed, expectRefusal, openClient, receive, startBridge, waitFor } from '../helpers/bridge.js';
import { logEvents, startNamedMembers } from '../helpers/pool-members.js';
import { freePort } from '../helpers/ports.js';

/** One session: the member's name, then a clean close. */
async function sessionName(url: string): Promise<string> {
  const ws = await openClient(url);
  const name = (await receive(ws, 3)).toString().trim();
  ws.close(1000);
  await closed(ws);
  return name;
}

test('a member killed mid-run: no handshake fails, it is skipped after max_fails and retried after fail_timeout', async (t) => {
  const members = await startNamedMembers(['m0', 'm1', 'm2']);
  t.after(() => Promise.all(members.map((m) => m.server.close())));
  const pool = members.map((m) => m.address).join(',');
  const bridge = await startBridge([
    '127.0.0.1:0',
    pool,
    '--max-fails',
    '2',
    // Long enough that the 45 handshakes after the kill finish within it on a busy machine.
    '--fail-timeout',
    '4',
    '--log-format',
    'json',
  ]);
  t.after(() => bridge.close());
  const reached: string[] = [];
  for (let i = 0; i < 60; i++) {
    if (i === 15) await members[1]!.server.close();
    reached.push(await sessionName(bridge.url));
  }
  assert.ok(reached.slice(0, 15).includes('m1'));
  assert.ok(!reached.slice(15).includes('m1'));
  const downs = () => logEvents(bridge.logs, 'pool.member_down');
  assert.deepEqual(
    downs().map((l) => [l.member, l.cause, l.fails]),
    [[members[1]!.address, 'max_fails', 2]],
    'tried twice (max_fails), then skipped for the rest of the run',
  );
  const killed = bridge.bridge.poolMembers().find((m) => m.member === members[1]!.address);
  assert.deepEqual([killed?.up, killed?.failures, killed?.downs, killed?.active], [false, 2, 1, 0]);
  const sessions = bridge.bridge.poolMembers().reduce((sum, m) => sum + m.sessions, 0);
  assert.equal(sessions, 60, 'every session counted on the member it reached');
  await new Promise((r) => setTimeout(r, 4100));
  for (let i = 0; i < 6; i++) await sessionName(bridge.url);
  assert.equal(downs().length, 2, 'after fail_timeout it was tried once more, and marked down again');
});

test('a black-holed member costs a share of --connect-timeout once, then is skipped', async (t) => {
  const hole = await startBlackHole();
  t.after(() => hole.close());
  const [good] = await startNamedMembers(['m0']);
  t.after(() => good!.server.close());
  const bridge = await startBridge([
    '127.0.0.1:0',
    `127.0.0.1:${hole.port},${good!.address}`,
    '--balance',
    'first',
    '--connect-timeout',
    '1',
    '--log-format',
    'json',
  ]);
  t.after(() => bridge.close());
  const started = Date.now();
  assert.equal(await sessionName(bridge.url), 'm0');
  const first = Date.now() - started;
  assert.ok(first >= 450 && first < 1000, `the first handshake took ${first} ms`);
  const again = Date.now();
  assert.equal(await sessionName(bridge.url), 'm0');
  assert.ok(Date.now() - again < 300, 'the black hole is skipped while marked down');
  assert.equal(logEvents(bridge.logs, 'pool.member_down')[0]?.member, `127.0.0.1:${hole.port}`);
});

test('every member down: 502, the answer naming how many were tried', async (t) => {
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  const bridge = await startBridge(['127.0.0.1:0', ports.map((p) => `127.0.0.1:${p}`).join(',')]);
  t.after(() => bridge.close());
  const refusal = await expectRefusal(bridge.url);
  assert.equal(refusal.status, 502);
  assert.match(refusal.body, /3 of 3 pool members tried/);
});

test('active health checks mark a stopped member down before any session tries it, and up when it is back', async (t) => {
  const members = await startNamedMembers(['m0', 'm1']);
  t.after(() => members[0]!.server.close());
  const port = members[1]!.server.port;
  const bridge = await startBridge([
    '127.0.0.1:0',
    members.map((m) => m.address).join(','),
    '--health-interval',
    '0.1',
    '--max-fails',
    '0',
    '--log-format',
    'json',
  ]);
  t.after(() => bridge.close());
  await members[1]!.server.close();
  await waitFor(() => logEvents(bridge.logs, 'pool.member_down').length === 1, 3000, 'member_down');
  assert.equal(logEvents(bridge.logs, 'pool.member_down')[0]?.cause, 'health');
  // With --max-fails 0 only the probes can have marked it down; no session tries it now.
  for (let i = 0; i < 4; i++) assert.equal(await sessionName(bridge.url), 'm0');
  const back = createServer((socket) => {
    // Probes close at once, unread greeting and all: a reset here is expected.
    socket.on('error', () => {});
    socket.write('m1\n');
    socket.pipe(socket);
  });
  back.listen(port, '127.0.0.1');
  await once(back, 'listening');
  t.after(() => new Promise<void>((resolve) => back.close(() => resolve())));
  await waitFor(() => logEvents(bridge.logs, 'pool.member_up').length === 1, 3000, 'member_up');
  const names = [];
  for (let i = 0; i < 4; i++) names.push(await sessionName(bridge.url));
  assert.ok(names.includes('m1'), `m1 rejoined: ${names}`);
});
