// Active health checks (issue 16, --health-interval): a member whose server goes away is marked down by
// the probes before any session tries it, and rejoins by itself when the server comes back on its port.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { parsePool } from '../../src/targets/pool/pool-target.js';
import { waitFor } from '../helpers/bridge.js';
import { makePools, openMember, startMembers } from '../helpers/pool-members.js';

const never = new AbortController().signal;

test('a member is marked down when its server stops, and up when it listens again', async (t) => {
  const [kept, stopped] = await startMembers(2);
  t.after(() => kept!.close());
  const port = stopped!.port;
  const pool = parsePool(`127.0.0.1:${kept!.port},127.0.0.1:${port}`)!;
  const { pools, logs } = makePools({ healthIntervalMs: 100, maxFails: 0 });
  t.after(() => pools.close());
  pools.pin(pool);
  const events = () =>
    logs.filter((l) => l.member === `127.0.0.1:${port}`).map((l) => `${l.event}/${l.cause}`);
  await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(events(), [], 'a healthy member logs nothing');

  await stopped!.close();
  await waitFor(() => pools.snapshot(pool)[1]!.up === false, 3000, 'the probe to mark the member down');
  assert.deepEqual(events(), ['pool.member_down/health']);
  // With max_fails 0 no session could have marked it down: every session now goes to the other member.
  for (let i = 0; i < 4; i++) {
    const session = await pools.open(pool, {
      deadline: Date.now() + 1000,
      signal: never,
      key: undefined,
      openMember: openMember(),
    });
    assert.equal(session.member.kind === 'tcp' && session.member.port, kept!.port);
    session.stream.destroy();
  }
  assert.equal(pools.snapshot(pool)[1]!.failures, 0, 'the down member was not tried');

  const back = createServer((socket) => socket.destroy());
  back.listen(port, '127.0.0.1');
  await once(back, 'listening');
  t.after(() => new Promise<void>((resolve) => back.close(() => resolve())));
  await waitFor(() => pools.snapshot(pool)[1]!.up, 3000, 'the probe to mark the member up');
  assert.deepEqual(events(), ['pool.member_down/health', 'pool.member_up/health']);
});

test("members of pools no longer used stop being probed; the command line's are probed for good", async (t) => {
  const [pinnedServer, usedServer] = await startMembers(2);
  t.after(() => Promise.all([pinnedServer!.close(), usedServer!.close()]));
  const { pools } = makePools({ healthIntervalMs: 50, forgetIdleMs: 300 });
  t.after(() => pools.close());
  pools.pin(parsePool(`127.0.0.1:${pinnedServer!.port}@1`)!);
  const used = parsePool(`127.0.0.1:${usedServer!.port}@1`)!;
  const session = await pools.open(used, {
    deadline: Date.now() + 1000,
    signal: never,
    key: undefined,
    openMember: openMember(),
  });
  session.stream.destroy();
  session.ended();
  await waitFor(() => usedServer!.sockets.length >= 3, 2000, 'probes of the used member');
  // Idle for longer than forgetIdleMs: forgotten, no more probes.
  await new Promise((r) => setTimeout(r, 500));
  const probesThen = usedServer!.sockets.length;
  const pinnedThen = pinnedServer!.sockets.length;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(usedServer!.sockets.length, probesThen, 'the idle member is no longer probed');
  assert.ok(pinnedServer!.sockets.length > pinnedThen, 'the pinned member still is');
  assert.equal(pools.snapshot().length, 1);
});
