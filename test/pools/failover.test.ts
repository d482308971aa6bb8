// Opening a pool against real loopback servers (issue 16): the balancing across members, the failover to
// the next member within one deadline when one refuses or swallows the connection, passive health
// (max_fails, fail_timeout) and the refusal that names how many members were tried.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import type { HttpError } from '../../src/errors.js';
import { parsePool } from '../../src/targets/pool/pool-target.js';
import type { PoolSession } from '../../src/targets/pool/pools.js';
import type { TargetStream } from '../../src/targets/target.js';
import { startBlackHole } from '../helpers/black-hole.js';
import { waitFor } from '../helpers/bridge.js';
import { makePools, openMember, startMembers } from '../helpers/pool-members.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';

const never = new AbortController().signal;

function request(deadlineMs = 2000, signal = never, key?: string) {
  return { deadline: Date.now() + deadlineMs, signal, key, openMember: openMember(signal) };
}

/** Index of the member whose port `session` reached. */
function portOf(session: PoolSession<TargetStream>): number {
  return session.member.kind === 'tcp' ? session.member.port : 0;
}

test('round-robin with weights spreads sessions over three real members', async (t) => {
  const members = await startMembers(3);
  t.after(() => Promise.all(members.map((m) => m.close())));
  const [a, b, c] = members.map((m) => m.port);
  const pool = parsePool(`127.0.0.1:${a}@3,127.0.0.1:${b},127.0.0.1:${c}@2`)!;
  const { pools } = makePools();
  t.after(() => pools.close());
  const reached: number[] = [];
  for (let i = 0; i < 60; i++) {
    const session = await pools.open(pool, request());
    reached.push(portOf(session));
    session.stream.destroy();
    session.ended();
  }
  assert.deepEqual(
    [a, b, c].map((port) => reached.filter((p) => p === port).length),
    [30, 10, 20],
  );
  await waitFor(
    () => members.every((m, i) => m.sockets.length === [30, 10, 20][i]),
    2000,
    'every member to see its connections',
  );
});

test('a refused member is skipped after max_fails and tried again after fail_timeout; no open fails', async (t) => {
  const members = await startMembers(2);
  t.after(() => Promise.all(members.map((m) => m.close())));
  const dead = await freePort();
  const pool = parsePool(`127.0.0.1:${members[0]!.port},127.0.0.1:${dead},127.0.0.1:${members[1]!.port}`)!;
  const { pools, logs } = makePools({ maxFails: 2, failTimeoutMs: 400 });
  t.after(() => pools.close());
  const openAll = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const session = await pools.open(pool, request());
      assert.notEqual(portOf(session), dead);
      session.stream.destroy();
      session.ended();
    }
  };
  await openAll(30);
  const failures = () => pools.snapshot(pool)[1]!.failures;
  assert.equal(failures(), 2, 'tried until max_fails, then skipped');
  assert.equal(pools.snapshot(pool)[1]!.up, false);
  const down = logs.filter((l) => l.event === 'pool.member_down');
  assert.deepEqual(
    down.map((l) => [l.member, l.cause, l.fails]),
    [[`127.0.0.1:${dead}`, 'max_fails', 2]],
  );
  await new Promise((r) => setTimeout(r, 450));
  await openAll(30);
  assert.equal(failures(), 3, 'tried once after fail_timeout, down again at once');
});

test('a black-holed member costs its share of the deadline, then the next member connects', async (t) => {
  const hole = await startBlackHole();
  t.after(() => hole.close());
  const [good] = await startMembers(1);
  t.after(() => good!.close());
  const pool = parsePool(`127.0.0.1:${hole.port},127.0.0.1:${good!.port}`)!;
  const { pools, logs } = makePools({ method: 'first' });
  t.after(() => pools.close());
  const started = Date.now();
  const session = await pools.open(pool, request(1000));
  const elapsed = Date.now() - started;
  session.stream.destroy();
  assert.equal(portOf(session), good!.port);
  // Two members share 1000 ms: the black hole gets about half, not all of it.
  assert.ok(elapsed >= 450 && elapsed < 900, `connected after ${elapsed} ms`);
  assert.equal(logs.find((l) => l.event === 'pool.member_down')?.member, `127.0.0.1:${hole.port}`);
  const again = Date.now();
  (await pools.open(pool, request(1000))).stream.destroy();
  assert.ok(Date.now() - again < 300, 'the black hole is skipped while it is down');
});

test('when every member refuses: 502 naming how many were tried', async () => {
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  const pool = parsePool(ports.map((p) => `127.0.0.1:${p}`).join(','))!;
  const { pools } = makePools();
  await assert.rejects(pools.open(pool, request()), (err: HttpError) => {
    assert.equal(err.code, 'WSTCP_TARGET_UNREACHABLE');
    assert.equal(err.status, 502);
    assert.match(err.message, /^3 of 3 pool members tried/);
    return true;
  });
  pools.close();
});

test('when every member swallows the connection: 504 within the one deadline', async (t) => {
  const holes = await Promise.all([startBlackHole(), startBlackHole()]);
  t.after(() => Promise.all(holes.map((h) => h.close())));
  const pool = parsePool(holes.map((h) => `127.0.0.1:${h.port}`).join(','))!;
  const { pools } = makePools();
  t.after(() => pools.close());
  const started = Date.now();
  await assert.rejects(pools.open(pool, request(800)), (err: HttpError) => {
    assert.equal(err.code, 'WSTCP_TARGET_TIMEOUT');
    assert.equal(err.status, 504);
    assert.match(err.message, /^2 of 2 pool members tried, none answered within 0\.8 s/);
    return true;
  });
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 750 && elapsed < 1200, `refused after ${elapsed} ms`);
});

test('a backup member is used only while no other member is available', async (t) => {
  const members = await startMembers(2);
  t.after(() => Promise.all(members.map((m) => m.close())));
  const dead = await freePort();
  const backup = members[1]!.port;
  const { pools } = makePools({ failTimeoutMs: 60_000 });
  t.after(() => pools.close());
  const healthy = parsePool(`127.0.0.1:${members[0]!.port},127.0.0.1:${backup} backup`)!;
  for (let i = 0; i < 5; i++) {
    const session = await pools.open(healthy, request());
    assert.equal(portOf(session), members[0]!.port);
    session.stream.destroy();
  }
  const failing = parsePool(`127.0.0.1:${dead},127.0.0.1:${backup} backup`)!;
  for (let i = 0; i < 3; i++) {
    const session = await pools.open(failing, request());
    assert.equal(portOf(session), backup);
    session.stream.destroy();
  }
});

test('members marked down are still tried when no other is left', async (t) => {
  const [member] = await startMembers(1);
  t.after(() => member!.close());
  const dead = await freePort();
  const pool = parsePool(`127.0.0.1:${dead},127.0.0.1:${member!.port}`)!;
  const { pools } = makePools({ method: 'first', failTimeoutMs: 60_000 });
  t.after(() => pools.close());
  (await pools.open(pool, request())).stream.destroy();
  assert.equal(pools.snapshot(pool)[0]!.up, false);
  // Another pool whose only member is the one marked down (member state is shared between pools).
  const alone = parsePool(`127.0.0.1:${dead}@2`)!;
  await assert.rejects(pools.open(alone, request()), { code: 'WSTCP_TARGET_UNREACHABLE' });
  assert.equal(pools.snapshot(alone)[0]!.failures, 2, 'the down member was tried again');
});

test('least-conn sends new sessions to the member with the fewest live ones', async (t) => {
  const members = await startMembers(3);
  t.after(() => Promise.all(members.map((m) => m.close())));
  const pool = parsePool(members.map((m) => `127.0.0.1:${m.port}`).join(','))!;
  const { pools } = makePools({ method: 'least-conn' });
  t.after(() => pools.close());
  const open: PoolSession<TargetStream>[] = [];
  for (let i = 0; i < 6; i++) open.push(await pools.open(pool, request()));
  assert.deepEqual(
    pools.snapshot(pool).map((s) => s.active),
    [2, 2, 2],
  );
  // End both long sessions on the second member: the next two sessions go there.
  for (const session of open.filter((s) => portOf(s) === members[1]!.port)) {
    session.stream.destroy();
    session.ended();
    session.ended(); // a second call is ignored: the session is counted out once
  }
  const next = [await pools.open(pool, request()), await pools.open(pool, request())];
  assert.deepEqual(next.map(portOf), [members[1]!.port, members[1]!.port]);
  for (const session of [...open, ...next]) session.stream.destroy();
});

test('a client that leaves during failover ends the attempt without blaming the member', async (t) => {
  const hole = await startBlackHole();
  t.after(() => hole.close());
  const pool = parsePool(`127.0.0.1:${hole.port},127.0.0.1:${await freePort()}`)!;
  const { pools } = makePools({ method: 'first' });
  t.after(() => pools.close());
  const gone = new AbortController();
  setTimeout(() => gone.abort(), 100);
  const started = Date.now();
  await assert.rejects(pools.open(pool, request(5000, gone.signal)), { code: 'WSTCP_TARGET_UNREACHABLE' });
  assert.ok(Date.now() - started < 1000);
  assert.deepEqual(
    pools.snapshot(pool).map((s) => s.failures),
    [0, 0],
  );
});

test('unix socket members are opened as the unix kind', async (t) => {
  const dir = tempDir(t);
  const path = join(dir.dir, 'member.sock');
  const server = createServer((socket) => socket.end());
  server.listen(path);
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const pool = parsePool(`127.0.0.1:${await freePort()},unix_socket:${path}`)!;
  const { pools } = makePools({ method: 'first' });
  t.after(() => pools.close());
  const session = await pools.open(pool, request());
  assert.deepEqual(session.member, { kind: 'unix', path });
  session.stream.destroy();
});
