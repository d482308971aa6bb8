/**
 * Feeds: one connection to a TCP target published to a channel line by line or chunk by chunk, and
 * reconnected with backoff when the target drops it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { ChannelFeed, parseFeedSpec } from '../../src/channels/feed.js';
import { SocketFeedSource } from '../../src/channels/feed-source-socket.js';
import { MemoryChannelStore } from '../../src/channels/memory-store.js';
import { ConfigError } from '../../src/errors.js';
import { Logger } from '../../src/observe/log.js';
import { logEvents } from '../helpers/channels.js';

function setup(t: { after(fn: () => unknown): void }, mode: 'lines' | 'chunks', port: number) {
  const logs: string[] = [];
  const log = new Logger({ level: 'debug', format: 'json', sink: (line) => logs.push(line) });
  const store = new MemoryChannelStore({
    maxMessages: 100,
    maxBytes: 1 << 20,
    ttlMs: 0,
    maxChannels: 10,
    log,
  });
  const { channel, target } = parseFeedSpec(`ticks=127.0.0.1:${port}`);
  assert.ok(target.kind === 'tcp');
  const feed = new ChannelFeed({
    channel,
    source: new SocketFeedSource(target, channel, log),
    mode,
    store,
    log,
    maxMessageBytes: 16,
  });
  t.after(async () => {
    await feed.close();
    await store.close();
  });
  return { feed, store, logs };
}

async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('lines mode: each line is one message, CRLF or LF, a line split across reads joined, a long one cut', async (t) => {
  const server = createServer((socket) => {
    socket.write('one\r\ntw');
    setTimeout(() => socket.write('o\nthree-is-longer-than-sixteen\n'), 50);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { feed, store } = setup(t, 'lines', (server.address() as { port: number }).port);
  feed.start();
  await eventually(async () => (await store.messages('ticks')).length >= 4);
  const texts = (await store.messages('ticks')).map((m) => m.data.toString());
  assert.deepEqual(texts, ['one', 'two', 'three-is-longer-', 'than-sixteen']);
});

test('chunks mode publishes each read as it comes', async (t) => {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.write('abc');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { feed, store } = setup(t, 'chunks', (server.address() as { port: number }).port);
  feed.start();
  // The second chunk is sent once the first is published, so the two can never arrive in one read.
  await eventually(async () => (await store.messages('ticks')).length >= 1);
  sockets[0]?.write('def');
  await eventually(async () => (await store.messages('ticks')).length >= 2);
  assert.deepEqual(
    (await store.messages('ticks')).map((m) => m.data.toString()),
    ['abc', 'def'],
  );
});

test('a target that drops the connection is reconnected, with a log line', async (t) => {
  let connections = 0;
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    connections++;
    socket.end(`hello ${connections}\n`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { feed, store, logs } = setup(t, 'lines', (server.address() as { port: number }).port);
  feed.start();
  await eventually(async () => (await store.messages('ticks')).length >= 3);
  assert.deepEqual(
    (await store.messages('ticks')).slice(0, 3).map((m) => m.data.toString()),
    ['hello 1', 'hello 2', 'hello 3'],
  );
  const lost = logEvents(logs, 'channel.feed_lost');
  assert.ok(lost.length >= 2);
  assert.ok(Number(lost[1]?.retry_ms) > Number(lost[0]?.retry_ms), 'the retry delay backs off');
});

test('--channel-feed values are checked', () => {
  assert.deepEqual(parseFeedSpec('log=unix_socket:/run/log.sock'), {
    channel: 'log',
    target: { kind: 'unix', path: '/run/log.sock' },
  });
  assert.throws(() => parseFeedSpec('no-target'), ConfigError);
  assert.throws(() => parseFeedSpec('a,b=127.0.0.1:1'), ConfigError);
  assert.throws(() => parseFeedSpec('x=127.0.0.1:99999'), ConfigError);
});
