/**
 * Channels shared through one real redis-server by several wstcp instances: a publish on one reaches
 * subscribers on all, replay works from another instance, the info counts subscribers everywhere, and a
 * Redis restart gives publishers 503 while it is down, keeps subscribers, and heals by itself; and the
 * same through a three-node Redis Cluster.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { buildChannelConfig } from '../../src/channels/config.js';
import { RedisChannelStore } from '../../src/channels/redis-store.js';
import { parseRedisUrl, type RedisLocation } from '../../src/tokens/redis-source.js';
import {
  type ChannelServer,
  EventStream,
  infoFields,
  logEvents,
  publish,
  send,
  startChannelServer,
  WsStream,
} from '../helpers/channels.js';
import { requireProgram } from '../helpers/programs.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import { type RedisServer, startRedis } from '../helpers/tokens.js';

async function instances(
  t: TestContext,
  count: number,
): Promise<{ redis: RedisServer; servers: ChannelServer[] } | undefined> {
  const program = requireProgram(t, 'redis-server');
  if (!program) return undefined;
  const redis = await startRedis(t, program);
  const servers: ChannelServer[] = [];
  for (let i = 0; i < count; i++) {
    const server = await startChannelServer({
      store: (log) =>
        RedisChannelStore.open({
          location: parseRedisUrl(`redis://127.0.0.1:${redis.port}/0?prefix=test`),
          log,
          maxMessages: 10,
          ttlMs: 3_600_000,
          timeoutMs: 1000,
        }),
    });
    servers.push(server);
    t.after(() => server.close());
  }
  return { redis, servers };
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('three instances on one Redis: a publish on one reaches subscribers on all, counted across them', async (t) => {
  const set = await instances(t, 3);
  if (!set) return;
  const [a, b, c] = set.servers as [ChannelServer, ChannelServer, ChannelServer];
  const onA = new WsStream(`ws://${a.base}/sub/news`);
  const onB = new EventStream(b.base, '/sub/news');
  const onC = new WsStream(`ws://${c.base}/sub/news`);
  await Promise.all([onA.opened, onB.waitForOpen(), onC.opened]);
  t.after(() => {
    onA.close();
    onB.close();
    onC.close();
  });
  const answer = await publish(b.base, 'news', 'hello everyone');
  assert.equal(answer.status, 201);
  assert.equal(infoFields(answer.text)['active subscribers'], '3');
  const [fromA] = await onA.waitFor(1);
  const [fromB] = await onB.waitFor(1);
  const [fromC] = await onC.waitFor(1);
  assert.equal(fromA?.data.toString(), 'hello everyone');
  assert.equal(fromB?.data, 'hello everyone');
  assert.equal(fromC?.data.toString(), 'hello everyone');
  assert.equal(infoFields((await send(c.base, 'GET', '/pub/news')).text)['active subscribers'], '3');
});

test('replay from another instance: published on one, resumed by id on the other', async (t) => {
  const set = await instances(t, 2);
  if (!set) return;
  const [a, b] = set.servers as [ChannelServer, ChannelServer];
  for (const m of ['one', 'two', 'three']) assert.equal((await publish(a.base, 'log', m)).status, 202);
  const all = new EventStream(b.base, '/sub/log');
  const events = await all.waitFor(3);
  all.close();
  assert.deepEqual(
    events.map((e) => e.data),
    ['one', 'two', 'three'],
  );
  const resumed = new EventStream(b.base, `/sub/log?last_event_id=${events[0]?.id}`);
  t.after(() => resumed.close());
  assert.deepEqual(
    (await resumed.waitFor(2)).map((e) => e.data),
    ['two', 'three'],
  );
  // The ids come from Redis's clock and counter: the same on both instances.
  const info = infoFields((await send(a.base, 'GET', '/pub/log')).text);
  assert.equal(info['last message id'], events[2]?.id);
  assert.equal(info['queued messages'], '3');
});

test('a DELETE on one instance ends the subscribers on the other', async (t) => {
  const set = await instances(t, 2);
  if (!set) return;
  const [a, b] = set.servers as [ChannelServer, ChannelServer];
  await publish(a.base, 'gone', 'x');
  const ws = new WsStream(`ws://${b.base}/sub/gone`);
  await ws.opened;
  await ws.waitFor(1);
  assert.equal((await send(a.base, 'DELETE', '/pub/gone')).status, 200);
  assert.equal(await ws.waitForClose(), 1001);
  assert.equal(ws.closeReason, '410 Gone');
});

test('Redis restarted mid-run: 503 for publishers while down, subscribers stay and receive again after', async (t) => {
  const set = await instances(t, 2);
  if (!set) return;
  const { redis } = set;
  const [a, b] = set.servers as [ChannelServer, ChannelServer];
  const ws = new WsStream(`ws://${b.base}/sub/feed`);
  await ws.opened;
  t.after(() => ws.close());
  await publish(a.base, 'feed', 'before');
  await ws.waitFor(1);

  await redis.stop();
  const down = await publish(a.base, 'feed', 'during');
  assert.equal(down.status, 503);
  assert.equal(ws.closeCode, undefined, 'the subscriber stays connected');
  assert.ok(logEvents(a.logs, 'channel.store_down').length >= 1);

  await redis.start();
  await eventually(
    async () => (await publish(a.base, 'feed', 'after')).status === 202 || ws.messages.length > 1,
    'publishing works again',
  );
  await eventually(
    async () => ws.messages.some((m) => m.data.toString() === 'after'),
    'the subscriber receives again',
  );
  assert.equal(ws.closeCode, undefined);
});

test('a Redis Cluster (?cluster=1): two instances share channels whose keys live on different nodes', async (t) => {
  const program = requireProgram(t, 'redis-server');
  if (!program) return;
  const cluster = await startRedisCluster(t, program);
  const servers: ChannelServer[] = [];
  for (const port of cluster.ports.slice(0, 2)) {
    const config = buildChannelConfig({
      channels: '',
      'channel-store': `redis://127.0.0.1:${port}/0?cluster=1`,
    });
    const server = await startChannelServer({
      store: (log) =>
        RedisChannelStore.open({
          location: config?.store as RedisLocation,
          cluster: config?.storeCluster,
          log,
          maxMessages: 10,
          ttlMs: 3_600_000,
          timeoutMs: 3000,
        }),
    });
    servers.push(server);
    t.after(() => server.close());
  }
  const [a, b] = servers as [ChannelServer, ChannelServer];
  // Enough channels that their hash slots fall on every node.
  const channels = Array.from({ length: 6 }, (_, i) => `spread${i}`);
  const streams = channels.map((c) => new EventStream(b.base, `/sub/${c}`));
  t.after(() => {
    for (const s of streams) s.close();
  });
  await Promise.all(streams.map((s) => s.waitForOpen()));
  for (const c of channels) assert.equal((await publish(a.base, c, `to ${c}`)).status, 201);
  for (const [i, s] of streams.entries()) assert.equal((await s.waitFor(1))[0]?.data, `to ${channels[i]}`);
  const info = infoFields((await send(b.base, 'GET', '/pub/spread0')).text);
  assert.equal(info['queued messages'], '1');
  assert.equal(info['active subscribers'], '1');
});

test('through Redis a message keeps its bytes, content type and event name', async (t) => {
  const set = await instances(t, 2);
  if (!set) return;
  const [a, b] = set.servers as [ChannelServer, ChannelServer];
  const ws = new WsStream(`ws://${b.base}/sub/raw`, 'ws+meta.nchan');
  const plain = new WsStream(`ws://${b.base}/sub/raw`);
  await Promise.all([ws.opened, plain.opened]);
  t.after(() => {
    ws.close();
    plain.close();
  });
  const bytes = Buffer.from([0, 10, 13, 255, 10, 0x6d]);
  await publish(a.base, 'raw', bytes, { 'Content-Type': 'application/octet-stream' });
  await publish(a.base, 'raw', 'named', { 'X-EventSource-Event': 'update' });
  const [binary] = await plain.waitFor(1);
  assert.equal(binary?.binary, true);
  assert.deepEqual(binary?.data, bytes);
  const [meta] = await ws.waitFor(1);
  assert.match(
    meta?.data.toString('latin1') ?? '',
    /^id: \d+:0\ncontent-type: application\/octet-stream\n\n/,
  );
  const stream = new EventStream(b.base, '/sub/raw');
  t.after(() => stream.close());
  const events = await stream.waitFor(2);
  assert.equal(events[1]?.event, 'update');
  assert.equal(events[1]?.data, 'named');
});

// Subscribers that join read the buffer while the same messages are on their way over pub/sub to the
// subscribers already there; the joining must not make the instance drop those. (The window is narrow:
// this exercises it 40 times, it does not force it.)
test('subscribers joining while messages are published do not make others miss any', async (t) => {
  const set = await instances(t, 2);
  if (!set) return;
  const [a, b] = set.servers as [ChannelServer, ChannelServer];
  const steady = new WsStream(`ws://${b.base}/sub/race`);
  await steady.opened;
  t.after(() => steady.close());
  const count = 40;
  for (let i = 0; i < count; i++) {
    const joining = new EventStream(b.base, '/sub/race');
    await Promise.all([publish(a.base, 'race', `m${i}`), joining.waitForOpen()]);
    joining.close();
  }
  const got = await steady.waitFor(count, 10_000);
  assert.deepEqual(
    got.map((m) => m.data.toString()),
    Array.from({ length: count }, (_, i) => `m${i}`),
  );
});
