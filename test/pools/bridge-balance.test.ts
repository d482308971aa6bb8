// Pools through a running bridge (issue 16): three real members behind one target, and how each
// --balance method spreads real WebSocket sessions over them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type WebSocket from 'ws';
import { closed, openClient, receive, startBridge, waitFor } from '../helpers/bridge.js';
import { startNamedMembers } from '../helpers/pool-members.js';

/** Opens a session and returns the name of the member it reached, with the open client. */
async function session(url: string): Promise<{ ws: WebSocket; member: string }> {
  const ws = await openClient(url);
  const member = (await receive(ws, 3)).toString().trim();
  return { ws, member };
}

async function countSessions(url: string, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const { ws, member } = await session(url);
    counts[member] = (counts[member] ?? 0) + 1;
    ws.close(1000);
    await closed(ws);
  }
  return counts;
}

async function poolBridge(t: { after(fn: () => unknown): void }, pool: string, ...flags: string[]) {
  const bridge = await startBridge(['127.0.0.1:0', pool, ...flags]);
  t.after(() => bridge.close());
  return bridge;
}

test('round-robin: sessions in proportion to the weights, exactly', async (t) => {
  const members = await startNamedMembers(['m0', 'm1', 'm2']);
  t.after(() => Promise.all(members.map((m) => m.server.close())));
  const [a, b, c] = members.map((m) => m.address);
  const bridge = await poolBridge(t, `${a}@3,${b},${c}@2`);
  assert.deepEqual(await countSessions(bridge.url, 30), { m0: 15, m1: 5, m2: 10 });
});

test('random: sessions in proportion to the weights, within a tolerance', async (t) => {
  const members = await startNamedMembers(['m0', 'm1', 'm2']);
  t.after(() => Promise.all(members.map((m) => m.server.close())));
  const bridge = await poolBridge(t, members.map((m) => m.address).join(','), '--balance', 'random');
  // 300 draws, 100 expected each: the bounds are 4.9 standard deviations away (90 draws within 15..45 failed
  // about once in 300 runs, 3.4 deviations), and still catch a balancer that ignores a member or favours one.
  const counts = await countSessions(bridge.url, 300);
  for (const name of ['m0', 'm1', 'm2']) {
    assert.ok((counts[name] ?? 0) >= 60 && (counts[name] ?? 0) <= 140, JSON.stringify(counts));
  }
});

test('first: every session on the first member while it is up', async (t) => {
  const members = await startNamedMembers(['m0', 'm1', 'm2']);
  t.after(() => Promise.all(members.map((m) => m.server.close())));
  const bridge = await poolBridge(t, members.map((m) => m.address).join(','), '--balance', 'first');
  assert.deepEqual(await countSessions(bridge.url, 10), { m0: 10 });
});

test('hash-client: one client address always reaches the same member', async (t) => {
  const members = await startNamedMembers(['m0', 'm1', 'm2']);
  t.after(() => Promise.all(members.map((m) => m.server.close())));
  const bridge = await poolBridge(t, members.map((m) => m.address).join(','), '--balance', 'hash-client');
  const counts = await countSessions(bridge.url, 12);
  assert.deepEqual(Object.values(counts), [12], JSON.stringify(counts));
});

test('least-conn with long sessions: new sessions go where the fewest are open', async (t) => {
  const members = await startNamedMembers(['m0', 'm1', 'm2']);
  t.after(() => Promise.all(members.map((m) => m.server.close())));
  const bridge = await poolBridge(t, members.map((m) => m.address).join(','), '--balance', 'least-conn');
  const open = [];
  for (let i = 0; i < 6; i++) open.push(await session(bridge.url));
  const names = open.map((s) => s.member).sort();
  assert.deepEqual(names, ['m0', 'm0', 'm1', 'm1', 'm2', 'm2']);
  // The sessions on m1 end; m1 has none left, so the next two sessions both go there.
  for (const s of open.filter((s) => s.member === 'm1')) {
    s.ws.close(1000);
    await closed(s.ws);
  }
  await waitFor(
    () => members[1]!.server.sockets.every((socket) => socket.destroyed),
    2000,
    'm1 sessions to end',
  );
  const next = [await session(bridge.url), await session(bridge.url)];
  assert.deepEqual(
    next.map((s) => s.member),
    ['m1', 'm1'],
  );
  for (const s of [...open, ...next]) s.ws.terminate();
});
