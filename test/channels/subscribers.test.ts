/**
 * Channel behaviour on real loopback sockets, one scenario each: where new subscribers start, the buffer
 * limits, multiplexed resume, Nchan's ws+meta.nchan subprotocol, slow subscribers, and refused requests.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, Socket } from 'node:net';
import { test } from 'node:test';
import { HttpError } from '../../src/errors.js';
import {
  EventStream,
  infoFields,
  logEvents,
  publish,
  send,
  startChannelServer,
  WsStream,
} from '../helpers/channels.js';
import { clientFrame, FrameReader, rawClient } from '../helpers/frames.js';

test('--channel-first newest, 2 and -2 select what a new subscriber gets, as Nchan counts them', async (t) => {
  const results: Record<string, string[]> = {};
  for (const first of ['newest', 2, -2] as const) {
    const server = await startChannelServer({ first });
    t.after(() => server.close());
    for (const m of ['m1', 'm2', 'm3', 'm4', 'm5']) await publish(server.base, 'f', m);
    const stream = new EventStream(server.base, '/sub/f');
    await stream.waitForOpen();
    await publish(server.base, 'f', 'live');
    await stream.waitFor(1);
    await new Promise((r) => setTimeout(r, 50));
    stream.close();
    results[String(first)] = stream.events.map((e) => e.data);
  }
  assert.deepEqual(results, {
    newest: ['live'],
    '2': ['m2', 'm3', 'm4', 'm5', 'live'],
    '-2': ['m4', 'm5', 'live'],
  });
});

test('--channel-buffer 0 keeps no message: a late subscriber gets nothing old', async (t) => {
  const server = await startChannelServer({ bufferLength: 0 });
  t.after(() => server.close());
  assert.equal((await publish(server.base, 'b', 'gone')).status, 202);
  assert.equal(infoFields((await send(server.base, 'GET', '/pub/b')).text)['queued messages'], '0');
  const stream = new EventStream(server.base, '/sub/b');
  await stream.waitForOpen();
  await publish(server.base, 'b', 'new');
  assert.deepEqual(
    (await stream.waitFor(1)).map((e) => e.data),
    ['new'],
  );
  stream.close();
});

test('messages expire after --channel-ttl', async (t) => {
  const server = await startChannelServer({ ttlMs: 300 });
  t.after(() => server.close());
  await publish(server.base, 'ttl', 'short-lived');
  assert.equal(infoFields((await send(server.base, 'GET', '/pub/ttl')).text)['queued messages'], '1');
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(infoFields((await send(server.base, 'GET', '/pub/ttl')).text)['queued messages'], '0');
});

test('the byte cap per channel: a larger message is 413, older messages are evicted to make room', async (t) => {
  const server = await startChannelServer({ maxBytes: 10_000 });
  t.after(() => server.close());
  const big = await publish(server.base, 'cap', Buffer.alloc(10_001, 0x61));
  assert.equal(big.status, 413);
  for (let i = 0; i < 5; i++) await publish(server.base, 'cap', Buffer.alloc(4000, 0x61 + i));
  const queued = Number(infoFields((await send(server.base, 'GET', '/pub/cap')).text)['queued messages']);
  assert.equal(queued, 2, 'two 4000-byte messages fit in 10,000 bytes');
});

test('the cap on channels: publishing to one more is 503 with a code', async (t) => {
  const server = await startChannelServer({ maxChannels: 2 });
  t.after(() => server.close());
  assert.equal((await publish(server.base, 'one', 'x')).status, 202);
  assert.equal((await publish(server.base, 'two', 'x')).status, 202);
  const third = await publish(server.base, 'three', 'x');
  assert.equal(third.status, 503);
  assert.equal((await publish(server.base, 'one', 'y')).status, 202);
});

test('a multiplexed subscriber resumes from its multi-channel id', async (t) => {
  const server = await startChannelServer();
  t.after(() => server.close());
  await publish(server.base, 'x', 'x1');
  await publish(server.base, 'y', 'y1');
  const first = new EventStream(server.base, '/sub/x,y');
  const events = await first.waitFor(2);
  first.close();
  await publish(server.base, 'x', 'x2');
  await publish(server.base, 'y', 'y2');
  const resumed = new EventStream(server.base, '/sub/x,y', { 'Last-Event-ID': events[1]?.id ?? '' });
  t.after(() => resumed.close());
  assert.deepEqual(
    (await resumed.waitFor(2)).map((e) => e.data),
    ['x2', 'y2'],
  );
  assert.match(events[1]?.id ?? '', /^\d+:\d+,\[\d+:\d+\]$/);
});

test('more than 255 channels in one subscription is 403; a channel id over 1024 characters too', async (t) => {
  const server = await startChannelServer();
  t.after(() => server.close());
  const many = Array.from({ length: 256 }, (_, i) => `c${i}`).join(',');
  assert.equal((await send(server.base, 'GET', `/sub/${many}`)).status, 403);
  assert.equal((await send(server.base, 'GET', `/pub/${'a'.repeat(1025)}`)).status, 403);
});

test('ws+meta.nchan subscribers get the id and content type in front of each message, as NchanSubscriber reads', async (t) => {
  const server = await startChannelServer();
  t.after(() => server.close());
  const ws = new WsStream(`ws://${server.base}/sub/meta`, 'ws+meta.nchan');
  await ws.opened;
  t.after(() => ws.close());
  assert.equal(ws.ws.protocol, 'ws+meta.nchan');
  await publish(server.base, 'meta', 'payload', { 'Content-Type': 'text/x-thing' });
  const [message] = await ws.waitFor(1);
  assert.match(message?.data.toString() ?? '', /^id: \d+:0\ncontent-type: text\/x-thing\n\npayload$/);
});

test('a subscriber that stops reading is closed, while the publisher and other subscribers carry on', async (t) => {
  const server = await startChannelServer({
    limits: { queueBytes: 256 * 1024, slow: 'close', noDelay: false },
  });
  t.after(() => server.close());
  // A raw client that completes the handshake, then never reads.
  const stalled = connect(server.port, '127.0.0.1');
  stalled.write(
    'GET /sub/flood HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await new Promise((resolve) => stalled.once('data', resolve));
  stalled.pause();
  t.after(() => stalled.destroy());
  const reader = new WsStream(`ws://${server.base}/sub/flood`);
  await reader.opened;
  t.after(() => reader.close());
  const chunk = Buffer.alloc(64 * 1024, 0x62);
  const started = Date.now();
  for (let i = 0; i < 200; i++) {
    const answer = await publish(server.base, 'flood', chunk, { 'Content-Type': 'application/octet-stream' });
    assert.ok(answer.status === 201 || answer.status === 202);
  }
  assert.ok(Date.now() - started < 20_000, 'publishing was not held up');
  await reader.waitFor(200, 20_000);
  const slow = logEvents(server.logs, 'channel.subscriber_slow');
  assert.equal(slow.length, 1);
  assert.equal(slow[0]?.action, 'close');
  assert.equal(slow[0]?.code, 1013);
  // What waited for the stalled client never went past the bound (plus one message).
  assert.ok(Number(slow[0]?.queued) <= 256 * 1024 + chunk.length);
});

// Fan-out writes each frame straight to the kernel; what a full socket buffer does not take is finished
// by libuv ahead of later frames (direct-write.ts). A subscriber that stalls until its buffers are full
// and then reads on must get every frame whole, once and in order.
test('a subscriber that stalls, then reads on, gets every frame whole and in order', async (t) => {
  const server = await startChannelServer({
    limits: { queueBytes: 64 * 1024 * 1024, slow: 'close', noDelay: false },
  });
  t.after(() => server.close());
  const { socket: stalled, rest } = await rawClient(server.port, '', '/sub/resume');
  t.after(() => stalled.destroy());
  const reader = new FrameReader(stalled, rest);
  stalled.pause();
  // 12 MB of odd-sized frames: more than loopback's socket buffers hold, so some are taken in part.
  const sent: Buffer[] = [];
  for (let i = 0; i < 300; i++) {
    const body = Buffer.alloc(30_000 + ((i * 7919) % 20_000), i % 251);
    body.writeUInt32BE(i, 0);
    sent.push(body);
    assert.equal(
      (await publish(server.base, 'resume', body, { 'Content-Type': 'application/octet-stream' })).status,
      201,
    );
  }
  stalled.resume();
  for (const [i, body] of sent.entries()) {
    const frame = await reader.next(10_000);
    assert.ok(frame, `frame ${i} arrived`);
    assert.equal(frame.payload.readUInt32BE(0), i);
    assert.ok(frame.payload.equals(body), `frame ${i} is whole`);
  }
  assert.equal(server.service.stats().subscribers, 1);
});

test('--channel-slow skip: a slow subscriber misses messages but stays connected', async (t) => {
  const server = await startChannelServer({
    limits: { queueBytes: 128 * 1024, slow: 'skip', noDelay: false },
  });
  t.after(() => server.close());
  const stalled = connect(server.port, '127.0.0.1');
  stalled.write(
    'GET /sub/skip HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await new Promise((resolve) => stalled.once('data', resolve));
  stalled.pause();
  t.after(() => stalled.destroy());
  // Enough to fill the kernel buffers of loopback (several MB) and then the queue.
  for (let i = 0; i < 400; i++) await publish(server.base, 'skip', Buffer.alloc(32 * 1024, 0x63));
  const slow = logEvents(server.logs, 'channel.subscriber_slow');
  assert.equal(slow.length, 1);
  assert.equal(slow[0]?.action, 'skip');
  assert.equal(stalled.destroyed, false);
  assert.equal(server.service.stats().subscribers, 1);
});

test('a subscriber that sends a message is closed with 1008; one on an unknown method gets 405', async (t) => {
  const server = await startChannelServer();
  t.after(() => server.close());
  const ws = new WsStream(`ws://${server.base}/sub/quiet`);
  await ws.opened;
  ws.ws.send('not allowed');
  assert.equal(await ws.waitForClose(), 1008);
  assert.equal((await send(server.base, 'POST', '/sub/quiet', 'x')).status, 405);
  const patch = await send(server.base, 'PATCH', '/pub/quiet', 'x');
  assert.equal(patch.status, 405);
  assert.equal(patch.headers.allow, 'GET, POST, PUT, DELETE');
});

test('a long-poll waiting on a channel that is deleted gets 410', async (t) => {
  const server = await startChannelServer();
  t.after(() => server.close());
  await publish(server.base, 'lp', 'first');
  const first = await send(server.base, 'GET', '/sub/lp');
  const waiting = send(server.base, 'GET', '/sub/lp', undefined, {
    'If-Modified-Since': String(first.headers['last-modified']),
    'If-None-Match': String(first.headers.etag),
  });
  await new Promise((r) => setTimeout(r, 100));
  await send(server.base, 'DELETE', '/pub/lp');
  assert.equal((await waiting).status, 410);
});

test('closing the service ends WebSocket subscribers with 1001', async () => {
  const server = await startChannelServer();
  const ws = new WsStream(`ws://${server.base}/sub/bye`);
  await ws.opened;
  const closing = server.close();
  assert.equal(await ws.waitForClose(), 1001);
  await closing;
});

test('subscribers pass the admission gates: a refusal keeps its status, a counted connection is released when it leaves', async (t) => {
  let live = 0;
  const server = await startChannelServer({
    admitSubscriber: async (req) => {
      if (req.headers.origin === 'http://evil.test') {
        throw new HttpError('WSTCP_FORBIDDEN', 403, 'origin not allowed');
      }
      live++;
      return () => {
        live--;
      };
    },
  });
  t.after(() => server.close());
  const refused = await send(server.base, 'GET', '/sub/g', undefined, { Origin: 'http://evil.test' });
  assert.equal(refused.status, 403);
  const ws = new WsStream(`ws://${server.base}/sub/g`);
  const stream = new EventStream(server.base, '/sub/g');
  await Promise.all([ws.opened, stream.waitForOpen()]);
  assert.equal(live, 2);
  ws.close();
  stream.close();
  const deadline = Date.now() + 5000;
  while (live > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(live, 0);
});

test('a WebSocket publisher sending more than a channel holds is closed with 1009, nothing published', async (t) => {
  const server = await startChannelServer({ maxBytes: 1000 });
  t.after(() => server.close());
  const ws = new WsStream(`ws://${server.base}/pub/big`);
  await ws.opened;
  ws.ws.send(Buffer.alloc(2000));
  assert.equal(await ws.waitForClose(), 1009);
  assert.equal((await send(server.base, 'GET', '/pub/big')).status, 404);
});

test('bad input gets a status and the server carries on: bad encoding, ids, dates, sizes and handshakes', async (t) => {
  const server = await startChannelServer({ maxBytes: 1000 });
  t.after(() => server.close());
  await publish(server.base, 'ok', 'first');
  assert.equal((await send(server.base, 'GET', '/sub/%ZZ')).status, 403);
  assert.equal((await send(server.base, 'GET', '/pub/%ZZ')).status, 403);
  const garbageId = await send(server.base, 'GET', '/sub/ok', undefined, { 'Last-Event-ID': 'not:an:id' });
  assert.equal(garbageId.text, 'first');
  const garbageDate = await send(server.base, 'GET', '/sub/ok', undefined, {
    'If-Modified-Since': 'yesterday',
    'If-None-Match': 'x',
  });
  assert.equal(garbageDate.text, 'first');
  const huge = await send(server.base, 'POST', '/pub/ok', undefined, { 'Content-Length': '99999999999' });
  assert.equal(huge.status, 413);
  const badKey = await send(server.base, 'GET', '/sub/ok', undefined, {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Key': 'short',
    'Sec-WebSocket-Version': '13',
  });
  assert.equal(badKey.status, 400);
  assert.equal((await publish(server.base, 'ok', 'still serving')).status, 202);
  assert.ok(logEvents(server.logs, 'channel.refused').length >= 3);
});

test('subscriber sockets coalesce small messages (Nagle, as Nchan) unless --channel-nodelay', async (t) => {
  // Node's HTTP server turns Nagle off on every connection; subscribers turn it back on (or keep it off).
  const last = new Map<Socket, boolean>();
  const original = Socket.prototype.setNoDelay;
  Socket.prototype.setNoDelay = function (this: Socket, noDelay?: boolean) {
    last.set(this, noDelay !== false);
    return original.call(this, noDelay);
  };
  t.after(() => {
    Socket.prototype.setNoDelay = original;
  });
  for (const noDelay of [false, true]) {
    const server = await startChannelServer({ limits: { queueBytes: 1024 * 1024, slow: 'close', noDelay } });
    t.after(() => server.close());
    const ws = new WsStream(`ws://${server.base}/sub/nagle`);
    await ws.opened;
    const events = new EventStream(server.base, '/sub/nagle');
    await publish(server.base, 'nagle', 'one');
    await ws.waitFor(1);
    await events.waitFor(1);
    const subscribers = [...last].filter(([socket]) => socket.localPort === server.port);
    assert.ok(subscribers.length >= 2, "both subscribers' sockets were set");
    for (const [, value] of subscribers) assert.equal(value, noDelay);
    last.clear();
    ws.close();
    events.close();
  }
});

/** Sends `parts` on one raw connection, `gapMs` apart; resolves with the answer's status line. */
async function rawPublish(port: number, parts: readonly string[], gapMs: number): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let answer = '';
  socket.on('data', (chunk: Buffer) => {
    answer += chunk.toString('latin1');
  });
  for (const part of parts) {
    socket.write(part);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  const deadline = Date.now() + 5000;
  while (!answer.includes('\r\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  socket.destroy();
  return answer.split('\r\n')[0] ?? '';
}

// A body that comes with its headers is read in one piece (publisher.ts); one that arrives later, in
// parts or chunked, through the stream: each must be published whole, and a chunked body over the limit
// refused with 413 whichever way it arrived.
test('a publish is read whole whether its body comes with the headers, later, in parts, chunked or empty', async (t) => {
  const server = await startChannelServer({ maxBytes: 1000 });
  t.after(() => server.close());
  const stream = new WsStream(`ws://${server.base}/sub/bodies`);
  t.after(() => stream.close());
  await stream.opened;
  const head = (length: number | 'chunked') =>
    `POST /pub/bodies HTTP/1.1\r\nHost: x\r\n${
      length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`
    }\r\n\r\n`;
  const cases: [string, string[], number][] = [
    ['together', [`${head(8)}together`], 0],
    ['later', [head(5), 'later'], 50],
    ['in three parts', [head(14), 'in th', 'ree p', 'arts'], 30],
    ['chunked', [`${head('chunked')}3\r\nchu\r\n`, '4\r\nnked\r\n', '0\r\n\r\n'], 30],
    ['', [head(0)], 0],
  ];
  for (const [body, parts, gapMs] of cases) {
    assert.match(await rawPublish(server.port, parts, gapMs), /^HTTP\/1\.1 201 /, `"${body}" published`);
  }
  const tooLarge = 'x'.repeat(600);
  const chunkedOver = [`${head('chunked')}258\r\n${tooLarge}\r\n`, `258\r\n${tooLarge}\r\n0\r\n\r\n`];
  assert.match(await rawPublish(server.port, chunkedOver, 0), /^HTTP\/1\.1 413 /);
  assert.match(await rawPublish(server.port, chunkedOver, 30), /^HTTP\/1\.1 413 /);
  const received = (await stream.waitFor(cases.length)).map((m) => m.data.toString());
  assert.deepEqual(
    received,
    cases.map(([body]) => body),
  );
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(stream.messages.length, cases.length, 'nothing of the refused bodies was published');
});

// A pong is one more frame on the subscriber's socket: it must queue behind the messages the socket
// still holds (in libuv's queue or the stream's), not jump ahead of them.
test('pongs to a stalled subscriber queue behind the messages it holds, in order', async (t) => {
  const server = await startChannelServer({
    limits: { queueBytes: 64 * 1024 * 1024, slow: 'close', noDelay: false },
  });
  t.after(() => server.close());
  const { socket, rest } = await rawClient(server.port, '', '/sub/pongs');
  t.after(() => socket.destroy());
  const reader = new FrameReader(socket, rest);
  socket.pause();
  const expected: string[] = [];
  for (let i = 0; i < 40; i++) {
    const body = Buffer.alloc(100_000, i);
    body.writeUInt32BE(i, 0);
    const status = (await publish(server.base, 'pongs', body, { 'Content-Type': 'application/octet-stream' }))
      .status;
    assert.equal(status, 201);
    expected.push(`m${i}`);
    if (i % 8 === 7) {
      socket.write(clientFrame(0x9, Buffer.from(`p${i}`)));
      // The server reads the ping (its socket is not paused) and answers before the next publish.
      await new Promise((r) => setTimeout(r, 30));
      expected.push(`pong p${i}`);
    }
  }
  socket.resume();
  const got: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const frame = await reader.next(10_000);
    assert.ok(frame, `frame ${i} arrived`);
    got.push(frame.opcode === 0xa ? `pong ${frame.payload}` : `m${frame.payload.readUInt32BE(0)}`);
  }
  assert.deepEqual(got, expected);
});
