/**
 * Fan-out passes (src/channels/hub.ts): a large channel is walked a slice at a time, messages published
 * meanwhile go out together in the next pass, and every subscriber still gets every message once and in
 * order; a delete or a shutdown hands out what is queued first. The hub's own logic with recording
 * listeners, then the whole server with 1,000 real WebSocket subscribers.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, createServer as createHttpServer } from 'node:http';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { EventSourceSubscriber } from '../../src/channels/eventsource.js';
import { LocalHub } from '../../src/channels/hub.js';
import type { ChannelMessage } from '../../src/channels/message.js';
import {
  compareMessageIds,
  formatMessageId,
  type MessageId,
  parseMessageId,
} from '../../src/channels/message-id.js';
import type { ChannelListener } from '../../src/channels/store.js';
import { WsSubscriber } from '../../src/channels/ws-subscriber.js';
import { Logger } from '../../src/observe/log.js';
import {
  type ChannelServer,
  EventStream,
  infoFields,
  logEvents,
  messagesOf,
  startChannelServer,
  WsStream,
} from '../helpers/channels.js';
import { publishOn } from '../helpers/keepalive-publish.js';
import { Swarm } from '../helpers/swarm.js';

/** A listener that records what reaches it, and how (one message, or a batch of several). */
class Recorder implements ChannelListener {
  readonly got: string[] = [];
  batches = 0;

  message(_channel: string, message: ChannelMessage): void {
    this.got.push(formatMessageId(message.id));
  }

  messages(_channel: string, batch: readonly ChannelMessage[]): void {
    this.batches++;
    for (const message of batch) this.got.push(formatMessageId(message.id));
  }

  deleted(): void {
    this.got.push('deleted');
  }
}

function hubWith(count: number): { hub: LocalHub; listeners: Recorder[] } {
  // Nothing here throws: a delivery failure (an error line) fails the test.
  const hub = new LocalHub(new Logger({ level: 'error', format: 'json', sink: (line) => assert.fail(line) }));
  const listeners = Array.from({ length: count }, () => new Recorder());
  for (const listener of listeners) hub.add('c', listener);
  return { hub, listeners };
}

async function settle(hub: LocalHub, listeners: readonly Recorder[], expected: number): Promise<void> {
  for (let turn = 0; turn < 1000 && listeners.some((l) => l.got.length < expected); turn++) await nextTurn();
  hub.close();
}

const ids = (messages: readonly ChannelMessage[]) => messages.map((m) => formatMessageId(m.id));

test('a small channel gets each message at once, one call each', () => {
  const { hub, listeners } = hubWith(10);
  const [a, b] = messagesOf(2) as [ChannelMessage, ChannelMessage];
  hub.deliver('c', a);
  hub.deliver('c', b);
  for (const listener of listeners) assert.deepEqual(listener.got, ids([a, b]));
  assert.equal(hub.passes, 2);
  assert.equal(hub.delivered, 20);
});

test('messages published during a pass go out together in the next, once each and in order', async () => {
  const { hub, listeners } = hubWith(1000);
  const messages = messagesOf(5);
  hub.deliver('c', messages[0] as ChannelMessage);
  // The first slice is handed out at once, the rest after the event loop has run.
  assert.equal(listeners.filter((l) => l.got.length === 1).length, 256);
  for (const message of messages.slice(1)) hub.deliver('c', message);
  await settle(hub, listeners, 5);
  for (const listener of listeners) {
    assert.deepEqual(listener.got, ids(messages));
    assert.equal(listener.batches, 1);
  }
  assert.equal(hub.passes, 2);
  assert.equal(hub.delivered, 5000);
});

test('a publish on a quiet channel is answered after its pass; one that keeps the channel busy at once', async () => {
  const { hub, listeners } = hubWith(600);
  const [first, second, third] = messagesOf(3) as [ChannelMessage, ChannelMessage, ChannelMessage];
  const waited = hub.deliver('c', first);
  assert.ok(waited, 'a quiet channel: the answer waits');
  // Queued behind the pass: answered at once.
  assert.equal(hub.deliver('c', second), undefined);
  await waited;
  assert.ok(listeners.every((l) => l.got.length >= 1));
  for (let turn = 0; turn < 100 && listeners.some((l) => l.got.length < 2); turn++) await nextTurn();
  // Right after a pass: the channel is busy, the answer goes at once.
  assert.equal(hub.deliver('c', third), undefined);
  await settle(hub, listeners, 3);
  for (const listener of listeners) assert.deepEqual(listener.got, ids([first, second, third]));
  // A small channel's pass ends before deliver() returns: nothing to wait for.
  const small = hubWith(10);
  assert.equal(small.hub.deliver('c', first), undefined);
  assert.ok(small.listeners.every((l) => l.got.length === 1));
});

test('a delete hands out what was queued first, then tells every subscriber', () => {
  const { hub, listeners } = hubWith(700);
  const messages = messagesOf(3);
  for (const message of messages) hub.deliver('c', message);
  hub.deleted('c');
  for (const listener of listeners) assert.deepEqual(listener.got, [...ids(messages), 'deleted']);
  assert.equal(hub.count('c'), 0);
  assert.equal(hub.total, 0);
});

test('flush() hands out at once everything queued (before a shutdown ends the subscribers)', () => {
  const { hub, listeners } = hubWith(700);
  const messages = messagesOf(3);
  for (const message of messages) hub.deliver('c', message);
  hub.flush();
  for (const listener of listeners) assert.deepEqual(listener.got, ids(messages));
  hub.close();
});

test('a subscriber that leaves during a pass is not visited, one that joins waits for the next; the last to leave stops the pass', async () => {
  const { hub, listeners } = hubWith(600);
  const [message, later] = messagesOf(2) as [ChannelMessage, ChannelMessage];
  hub.deliver('c', message);
  const leaving = listeners[500] as Recorder;
  hub.remove('c', leaving);
  const joining = new Recorder();
  hub.add('c', joining);
  hub.deliver('c', later);
  await settle(
    hub,
    listeners.filter((l) => l !== leaving),
    2,
  );
  assert.deepEqual(leaving.got, []);
  // It joined after the message was published (a store hands it the buffered ones).
  assert.deepEqual(joining.got, ids([later]));
  assert.ok(listeners.every((l) => l === leaving || l.got.length === 2));

  const again = hubWith(600);
  again.hub.deliver('c', message);
  for (const listener of again.listeners) again.hub.remove('c', listener);
  assert.equal(again.hub.channelCount, 0);
  await nextTurn();
  assert.equal(again.listeners.filter((l) => l.got.length === 1).length, 256);
});

test('a subscriber that throws is reported, and the pass goes on to the others', async () => {
  const logs: string[] = [];
  const hub = new LocalHub(new Logger({ level: 'debug', format: 'json', sink: (line) => logs.push(line) }));
  const listeners = Array.from({ length: 600 }, () => new Recorder());
  const broken = new Recorder();
  const fail = () => {
    throw new Error('broken');
  };
  broken.message = fail;
  broken.messages = fail;
  listeners.splice(300, 0, broken);
  for (const listener of listeners) hub.add('c', listener);
  const messages = messagesOf(2);
  for (const message of messages) hub.deliver('c', message);
  await settle(
    hub,
    listeners.filter((l) => l !== broken),
    2,
  );
  assert.deepEqual(
    logEvents(logs, 'channel.delivery_failed').map((e) => `${e.channel}: ${e.error}`),
    ['c: Error: broken', 'c: Error: broken'],
  );
  for (const listener of listeners) if (listener !== broken) assert.deepEqual(listener.got, ids(messages));
});

test('past 1,024 queued messages a pass no longer yields: the channel catches up before reading more', async () => {
  const { hub, listeners } = hubWith(300);
  const messages = messagesOf(1100);
  for (const message of messages) hub.deliver('c', message);
  // One turn: the first pass ends, and the next (64 messages) runs to its end at once, as 1,035 were
  // still queued; the one after starts with 971 queued and yields again.
  await nextTurn();
  const counts = listeners.map((l) => l.got.length);
  assert.equal(Math.min(...counts), 65);
  assert.ok(Math.max(...counts) < 1100);
  await settle(hub, listeners, 1100);
  for (const listener of listeners) assert.deepEqual(listener.got, ids(messages));
});

test('a batch larger than a subscriber may have waiting goes message by message, and nobody counts as slow', async (t) => {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  t.after(() => listener.close());
  const client = connect((listener.address() as AddressInfo).port, '127.0.0.1');
  const [accepted] = (await once(listener, 'connection')) as [Socket];
  t.after(() => {
    client.destroy();
    accepted.destroy();
  });
  const logs: string[] = [];
  const log = new Logger({ level: 'debug', format: 'json', sink: (line) => logs.push(line) });
  const limits = { queueBytes: 16 * 1024, slow: 'close' as const, noDelay: true };
  const subscriber = new WsSubscriber(accepted, false, limits, log, 'test');
  const batch = messagesOf(4).map((m, i) => ({ ...m, data: Buffer.alloc(6 * 1024, 0x61 + i) }));
  // Three frames of 6 KiB and 4 bytes: more than the 16 KiB a subscriber may have waiting; two fit.
  subscriber.sendBatch(batch, 1);
  subscriber.sendBatch(batch.slice(0, 2), 0);
  const expected = 5 * (6 * 1024 + 4);
  let received = Buffer.alloc(0);
  client.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
  });
  for (let i = 0; i < 200 && received.length < expected; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(received.length, expected);
  const firsts = [0, 1, 2, 3, 4].map((i) => received[i * (6 * 1024 + 4) + 4]);
  assert.deepEqual(firsts, [0x62, 0x63, 0x64, 0x61, 0x62]);
  assert.ok(subscriber.open);
  assert.deepEqual(logs, []);
});

test('an EventSource subscriber gets a batch in one write; one too large goes message by message, each bounded', async (t) => {
  const logs: string[] = [];
  const log = new Logger({ level: 'debug', format: 'json', sink: (line) => logs.push(line) });
  const limits = { queueBytes: 16 * 1024, slow: 'close' as const, noDelay: true };
  const batch = messagesOf(4).map((m, i) => ({ ...m, data: Buffer.alloc(6 * 1024, 0x61 + i) }));
  const writes: number[] = [];
  let subscriber: EventSourceSubscriber | undefined;
  const server = createHttpServer((_req, res) => {
    subscriber = new EventSourceSubscriber(res, limits, log, 'test');
    subscriber.begin({});
    const write = res.write.bind(res) as (data: Buffer) => boolean;
    res.write = ((data: Buffer) => {
      writes.push(data.length);
      return write(data);
    }) as typeof res.write;
    // Two events of 6 KiB: one write.
    subscriber.sendBatch(batch.slice(0, 2), 0);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const stream = new EventStream(`127.0.0.1:${(server.address() as AddressInfo).port}`, '/sub/c');
  t.after(() => stream.close());
  const got = await stream.waitFor(2);
  assert.deepEqual(
    got.map((e) => [e.id, e.data]),
    [0, 1].map((i) => [formatMessageId((batch[i] as ChannelMessage).id), 'abcd'[i]?.repeat(6 * 1024)]),
  );
  const event = (m: ChannelMessage) => `id: ${formatMessageId(m.id)}\ndata: ${m.data.toString()}\n\n`.length;
  assert.deepEqual(writes, [event(batch[0] as ChannelMessage) * 2]);
  assert.deepEqual(logs, []);
  // Three, more than the 16 KiB it may have waiting: one write each, and the HTTP response holds what
  // is written in one turn of the event loop, so the third finds two waiting and closes the stream.
  subscriber?.sendBatch(batch, 1);
  await stream.waitForEnd();
  assert.deepEqual(
    writes.slice(1),
    [1, 2].map((i) => event(batch[i] as ChannelMessage)),
  );
  assert.deepEqual(
    logEvents(logs, 'channel.subscriber_slow').map((e) => e.action),
    ['close'],
  );
});

/** Publishes `count` stamped 64-byte messages one after another on one keep-alive connection. */
async function publishInTurn(port: number, channel: string, count: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < count; i++) {
      const body = Buffer.alloc(64);
      body.writeDoubleLE(performance.timeOrigin + performance.now(), 0);
      const status = await publishOn(agent, port, channel, body);
      assert.equal(status, 201);
    }
  } finally {
    agent.destroy();
  }
}

/** A channel server and 1,000 WebSocket subscribers to `channel` on it, both ended after the test. */
async function serverWithSubscribers(
  t: TestContext,
  channel: string,
): Promise<{ server: ChannelServer; swarm: Swarm }> {
  const server = await startChannelServer();
  t.after(() => server.close());
  const swarm = await Swarm.start('127.0.0.1', server.port, `/sub/${channel}`, 1000);
  t.after(() => swarm.close());
  assert.equal(swarm.open, 1000);
  return { server, swarm };
}

/** The ids a `ws+meta.nchan` subscriber read in front of each message, in the order received. */
function metaIds(stream: WsStream): string[] {
  return stream.messages.map((m) => /^id: (\S+)\n/.exec(m.data.toString('latin1'))?.[1] ?? 'none');
}

test('1,000 WebSocket subscribers and a publisher faster than a walk: every message once, in order, in fewer passes', async (t) => {
  const { server, swarm } = await serverWithSubscribers(t, 'burst');
  // Beside the swarm, the other transports that take a pass's messages in one write.
  const events = [0, 1].map(() => new EventStream(server.base, '/sub/burst'));
  const metas = [0, 1].map(() => new WsStream(`ws://${server.base}/sub/burst`, 'ws+meta.nchan'));
  t.after(() => {
    for (const stream of [...events, ...metas]) stream.close();
  });
  await Promise.all([...events.map((e) => e.waitForOpen()), ...metas.map((m) => m.opened)]);
  const subscribers = 1004;
  const published = 300;
  const before = server.service.stats();
  await publishInTurn(server.port, 'burst', published);
  const stats = await swarm.statsWhen((s) => s.messages >= 1000 * published, 20_000);
  assert.equal(stats.messages, 1000 * published);
  assert.equal(stats.disorder, 0);
  assert.equal(stats.closed, 0);
  const eventIds = await Promise.all(
    events.map(async (e) => (await e.waitFor(published, 20_000)).map((event) => event.id ?? 'none')),
  );
  for (const meta of metas) await meta.waitFor(published, 20_000);
  // Every transport saw the same ids, each once, in publishing order.
  const ids = eventIds[0] as string[];
  assert.equal(new Set(ids).size, published);
  const parsed = ids.map((id) => parseMessageId(id) as MessageId);
  for (let i = 1; i < published; i++)
    assert.ok(
      compareMessageIds(parsed[i - 1] as MessageId, parsed[i] as MessageId) < 0,
      `${ids[i]} after ${ids[i - 1]}`,
    );
  assert.deepEqual(eventIds[1], ids);
  for (const meta of metas) assert.deepEqual(metaIds(meta), ids);
  const after = server.service.stats();
  const passes = after.passes - before.passes;
  t.diagnostic(`${published} messages in ${passes} passes`);
  assert.ok(passes < published, `${passes} passes for ${published} messages`);
  assert.equal(after.delivered - before.delivered, subscribers * published);
});

test('a delete behind queued publishes: every subscriber gets them all, then the close', async (t) => {
  const { server, swarm } = await serverWithSubscribers(t, 'ending');
  // Twenty publishes and the delete in one write: the server reads them in one go, so most of the
  // messages are queued behind the first pass when the delete comes.
  const count = 20;
  let requests = '';
  for (let i = 0; i < count; i++) {
    const body = Buffer.alloc(64);
    body.writeDoubleLE(performance.timeOrigin + performance.now() + i, 0);
    requests +=
      'POST /pub/ending HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n' +
      `Content-Length: 64\r\n\r\n${body.toString('latin1')}`;
  }
  requests += 'DELETE /pub/ending HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';
  const socket = connect(server.port, '127.0.0.1');
  await once(socket, 'connect');
  socket.end(Buffer.from(requests, 'latin1'));
  let answers = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    answers += chunk;
  });
  await once(socket, 'close');
  const statuses = [...answers.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
  assert.deepEqual(statuses, [...Array(count).fill('201'), '200']);
  const last = answers.slice(answers.lastIndexOf('HTTP/1.1'));
  assert.equal(infoFields(last.slice(last.indexOf('\r\n\r\n') + 4))['active subscribers'], '1000');
  const stats = await swarm.statsWhen((s) => s.closed >= 1000, 20_000);
  assert.equal(stats.messages, 1000 * count);
  assert.equal(stats.disorder, 0);
  assert.equal(stats.closed, 1000);
});
