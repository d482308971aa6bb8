// Every way a session ends, with the close code each side sees, and the promise that nothing accepted from one
// side is dropped before the close (websockify 0.10 can lose the last data queued before a close).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { closed, openClient, receive, startBridge, startTcpServer, waitFor } from '../helpers/bridge.js';
import { clientFrame, FrameReader, rawClient, type ServerFrame } from '../helpers/frames.js';

const MiB = 1024 * 1024;

function pattern(size: number, seed: number): Buffer {
  const data = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + seed) & 0xff;
  return data;
}

async function setup(
  t: import('node:test').TestContext,
  onSocket: (socket: Socket) => void,
  extra: string[] = [],
) {
  const target = await startTcpServer(onSocket);
  t.after(() => target.close());
  const bridge = await startBridge([
    '127.0.0.1:0',
    `127.0.0.1:${target.port}`,
    '--log-format',
    'json',
    ...extra,
  ]);
  t.after(() => bridge.close());
  return { target, bridge };
}

function closeLine(logs: string[]): Record<string, unknown> {
  const line = logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.event === 'session.close');
  assert.ok(line, 'a session.close line was logged');
  return line;
}

test('target EOF: everything it sent arrives, then close 1000; the log line says so', async (t) => {
  const data = pattern(3 * MiB, 7);
  const { bridge } = await setup(t, (socket) => socket.end(data));
  const ws = await openClient(bridge.url);
  const [received, close] = await Promise.all([receive(ws, data.length), closed(ws)]);
  assert.ok(received.equals(data), 'all 3 MiB arrived intact');
  assert.equal(close.code, 1000);
  await waitFor(() => bridge.logs.some((l) => l.includes('session.close')), 2000, 'the close line');
  const line = closeLine(bridge.logs);
  assert.equal(line.closed_by, 'target');
  assert.equal(line.code, 1000);
  assert.equal(line.bytes_to_client, data.length);
  assert.equal(line.bytes_to_target, 0);
  assert.equal(typeof line.duration_ms, 'number');
  assert.match(String(line.client), /^127\.0\.0\.1:\d+$/);
});

test('client close: everything it sent reaches the target, then FIN; its close code is echoed', async (t) => {
  let targetSocket: Socket | undefined;
  const received: Buffer[] = [];
  const { bridge } = await setup(t, (socket) => {
    targetSocket = socket;
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('end', () => socket.end());
  });
  const ws = await openClient(bridge.url);
  await waitFor(() => targetSocket !== undefined, 2000, 'the target connection');
  const ended = once(targetSocket!, 'end');
  const data = pattern(2 * MiB, 3);
  for (let offset = 0; offset < data.length; offset += 64 * 1024)
    ws.send(data.subarray(offset, offset + 64 * 1024));
  ws.close(4001, 'bye');
  const close = await closed(ws);
  assert.equal(close.code, 4001);
  await ended;
  assert.ok(Buffer.concat(received).equals(data), 'every byte reached the target before FIN');
  await waitFor(() => bridge.logs.some((l) => l.includes('session.close')), 2000, 'the close line');
  const line = closeLine(bridge.logs);
  assert.equal(line.closed_by, 'client');
  assert.equal(line.code, 4001);
  assert.equal(line.bytes_to_target, data.length);
});

test('target reset: the client gets close 1011 with a reason, after the data sent before it', async (t) => {
  const { bridge } = await setup(t, (socket) => {
    socket.write('last words', () => setTimeout(() => socket.resetAndDestroy(), 50));
  });
  const ws = await openClient(bridge.url);
  const [data, close] = await Promise.all([receive(ws, 10), closed(ws)]);
  assert.equal(data.toString(), 'last words');
  assert.equal(close.code, 1011);
  assert.match(close.reason, /reset/);
});

test('client vanishes (TCP reset): the target socket is closed promptly', async (t) => {
  let targetSocket: Socket | undefined;
  const { bridge } = await setup(t, (socket) => {
    targetSocket = socket;
  });
  const ws = await openClient(bridge.url);
  await waitFor(() => targetSocket !== undefined, 2000, 'the target connection');
  const targetEnded = once(targetSocket!, 'end');
  const started = Date.now();
  ws.terminate();
  await targetEnded;
  assert.ok(Date.now() - started < 1000, 'the target got FIN within 1 s');
  await waitFor(() => bridge.bridge.sessions.size === 0, 2000, 'the session to end');
  assert.equal(closeLine(bridge.logs).code, 1006);
});

test('a text frame is forwarded as its bytes, not closed with 1003', async (t) => {
  const { bridge } = await setup(t, (socket) => socket.pipe(socket));
  const ws = await openClient(bridge.url);
  ws.send('héllo text');
  const back = await receive(ws, Buffer.byteLength('héllo text'));
  assert.equal(back.toString('utf8'), 'héllo text');
  ws.close();
  assert.equal((await closed(ws)).code, 1005);
});

test('a message over --max-message-size closes with 1009 and other sessions carry on', async (t) => {
  const { bridge } = await setup(t, (socket) => socket.pipe(socket), ['--max-message-size', '0.0625']);
  const other = await openClient(bridge.url);
  const ws = await openClient(bridge.url);
  ws.send(Buffer.alloc(128 * 1024));
  assert.equal((await closed(ws)).code, 1009);
  other.send(Buffer.from('still here'));
  assert.equal((await receive(other, 10)).toString(), 'still here');
  other.close();
});

test('--session-idle-timeout closes a silent session, not a busy one', async (t) => {
  const { bridge } = await setup(t, (socket) => socket.pipe(socket), ['--session-idle-timeout', '0.4']);
  const idle = await openClient(bridge.url);
  const busy = await openClient(bridge.url);
  const pinger = setInterval(() => busy.send(Buffer.from('x')), 50);
  t.after(() => clearInterval(pinger));
  const close = await closed(idle);
  assert.equal(close.code, 1000);
  assert.match(close.reason, /idle/);
  assert.equal(busy.readyState, busy.OPEN);
  clearInterval(pinger);
  busy.close();
});

// A target that ends (FIN) and then resets while the bridge still writes to it: the client got 1000 and
// the log counted, as sent to the target, bytes the bridge still held when the reset came.
test('a target that ends, then resets under pending writes: 1011, and unwritten bytes are not counted', async (t) => {
  let targetSocket: Socket | undefined;
  const { bridge } = await setup(
    t,
    (socket) => {
      targetSocket = socket;
      socket.pause();
    },
    ['--max-buffer', '2'],
  );
  const { socket: client, rest } = await rawClient(bridge.port);
  client.on('error', () => {});
  t.after(() => client.destroy());
  const reader = new FrameReader(client, rest);
  const frame = clientFrame(0x2, Buffer.alloc(64 * 1024, 3));
  for (let i = 0; i < 512; i++) client.write(frame);
  await waitFor(() => bridge.bridge.sessions.size === 1 && targetSocket !== undefined, 2000, 'the session');
  const [session] = bridge.bridge.sessions;
  await waitFor(() => session!.queuedToTarget > 1.8 * MiB, 5000, 'the bridge to queue for the target');
  const taken = session!.bytesToTarget;
  const unwritten = session!.queuedToTarget;
  targetSocket!.end();
  await new Promise((resolve) => setTimeout(resolve, 100));
  targetSocket!.destroy(); // with unread bytes: a reset
  let close: ServerFrame | undefined;
  do close = await reader.next();
  while (close && close.opcode !== 0x8);
  assert.ok(close, 'a close frame arrived');
  assert.equal(close.payload.readUInt16BE(0), 1011);
  client.destroy(); // it would not answer the close frame
  await waitFor(() => bridge.bridge.sessions.size === 0, 3000, 'the session to end');
  const line = closeLine(bridge.logs);
  assert.equal(line.closed_by, 'target');
  assert.equal(line.code, 1011);
  const sent = Number(line.bytes_to_target);
  assert.ok(
    sent <= taken - unwritten,
    `${sent} bytes counted, but ${unwritten} of ${taken} were never written`,
  );
  assert.ok(Number(line.bytes_dropped) >= unwritten, 'what was never written is counted as dropped');
});
