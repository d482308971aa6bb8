// Nothing received may be lost, reordered or altered: random data of random frame sizes crosses the bridge in
// both directions at once, in one large session and in many concurrent ones, and arrives bit for bit.
// Also: fragmented client messages are reassembled, text frames are forwarded as their bytes (websockify
// closes them with 1003), and every chunk read from the target is sent as a binary frame.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import type WebSocket from 'ws';
import {
  closed,
  openClient,
  receive,
  startBridge,
  startEcho,
  startTcpServer,
  waitFor,
} from '../helpers/bridge.js';

const MiB = 1024 * 1024;
const MAX_FRAME = 256 * 1024;

/**
 * Cuts `data` into pieces of random size between 1 byte and `max`, log-uniformly distributed so that
 * tiny frames are as common as large ones.
 */
function randomPieces(data: Buffer, max = MAX_FRAME): Buffer[] {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < data.length; ) {
    const size = Math.min(
      data.length - offset,
      Math.max(1, Math.round(Math.exp(Math.random() * Math.log(max)))),
    );
    pieces.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return pieces;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Sends each piece as one message, waiting whenever more than 1 MiB is queued in the client. */
async function sendPieces(ws: WebSocket, pieces: Buffer[]): Promise<void> {
  for (const piece of pieces) {
    ws.send(piece);
    if (ws.bufferedAmount > MiB) {
      await waitFor(() => ws.bufferedAmount <= MiB, 10000, 'the client to drain');
    }
  }
}

/** Collects the bytes a target socket receives until EOF; resolves with their hash and length. */
function digestUntilEnd(socket: Socket): Promise<{ hash: string; length: number }> {
  const hash = createHash('sha256');
  let length = 0;
  socket.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    length += chunk.length;
  });
  return once(socket, 'end').then(() => ({ hash: hash.digest('hex'), length }));
}

test('8 MiB each way, random frame sizes, both directions at the same time, arrive intact', async (t) => {
  const up = randomBytes(8 * MiB);
  const down = randomBytes(8 * MiB);
  let targetReceived: Promise<{ hash: string; length: number }> | undefined;
  const target = await startTcpServer((socket) => {
    targetReceived = digestUntilEnd(socket);
    socket.on('end', () => socket.end());
    // Written in random pieces too, so reads on the bridge see every size.
    for (const piece of randomPieces(down, 64 * 1024)) socket.write(piece);
  });
  t.after(() => target.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${target.port}`]);
  t.after(() => bridge.close());

  const ws = await openClient(bridge.url, 'binary');
  assert.equal(ws.protocol, 'binary');
  let textFrames = 0;
  ws.on('message', (_data: Buffer, isBinary: boolean) => {
    if (!isBinary) textFrames++;
  });
  const received = receive(ws, down.length, 20000);
  await sendPieces(ws, randomPieces(up));
  const got = await received;
  assert.equal(got.length, down.length);
  assert.equal(sha256(got), sha256(down), 'target -> client stream differs');
  assert.equal(textFrames, 0, 'every frame from the target must be binary');

  ws.close(1000);
  assert.equal((await closed(ws)).code, 1000);
  await waitFor(() => targetReceived !== undefined, 1000, 'the target connection');
  const atTarget = await targetReceived!;
  assert.equal(atTarget.length, up.length);
  assert.equal(atTarget.hash, sha256(up), 'client -> target stream differs');
});

test('50 concurrent sessions each echo their own random stream intact', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${echo.port}`]);
  t.after(() => bridge.close());

  const sessions = 50;
  const results = await Promise.all(
    Array.from({ length: sessions }, async () => {
      const data = randomBytes(randomInt(256 * 1024, 768 * 1024));
      const ws = await openClient(bridge.url);
      const echoed = receive(ws, data.length, 25000);
      await sendPieces(ws, randomPieces(data, 64 * 1024));
      const got = await echoed;
      ws.close(1000);
      const { code } = await closed(ws);
      return { sent: sha256(data), got: sha256(got), length: got.length, expected: data.length, code };
    }),
  );
  for (const [i, result] of results.entries()) {
    assert.equal(result.length, result.expected, `session ${i} length`);
    assert.equal(result.got, result.sent, `session ${i} data`);
    assert.equal(result.code, 1000, `session ${i} close code`);
  }
  await waitFor(() => bridge.bridge.sessions.size === 0, 5000, 'every session to end');
  assert.equal(bridge.bridge.stats.opened, sessions);
  assert.equal(bridge.bridge.stats.closed, sessions);
});

test('fragmented client messages, with pings between fragments, reach the target reassembled', async (t) => {
  const chunks: Buffer[] = [];
  const target = await startTcpServer((socket) => socket.on('data', (chunk: Buffer) => chunks.push(chunk)));
  t.after(() => target.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${target.port}`]);
  t.after(() => bridge.close());

  const ws = await openClient(bridge.url);
  const expected: Buffer[] = [];
  for (let message = 0; message < 20; message++) {
    const fragments = randomPieces(randomBytes(randomInt(1, 512 * 1024)), 32 * 1024);
    for (const [i, fragment] of fragments.entries()) {
      ws.send(fragment, { binary: true, fin: i === fragments.length - 1 });
      if (i % 7 === 3) ws.ping();
      expected.push(fragment);
    }
    // A single-frame message between fragmented ones.
    const whole = randomBytes(randomInt(1, 1024));
    ws.send(whole);
    expected.push(whole);
  }
  // A fragmented text message: forwarded as its UTF-8 bytes like any other.
  const text = ['fragmented ', 'text ', 'message ☃'];
  for (const [i, part] of text.entries()) {
    ws.send(part, { binary: false, fin: i === text.length - 1 });
    expected.push(Buffer.from(part));
  }
  const all = Buffer.concat(expected);
  await waitFor(
    () => chunks.reduce((n, c) => n + c.length, 0) >= all.length,
    10000,
    'all bytes at the target',
  );
  assert.equal(sha256(Buffer.concat(chunks)), sha256(all));
  assert.equal(ws.readyState, ws.OPEN);
  ws.close(1000);
  assert.equal((await closed(ws)).code, 1000);
});

test('valid text frames are forwarded as their bytes instead of being closed with 1003', async (t) => {
  const chunks: Buffer[] = [];
  const target = await startTcpServer((socket) => socket.on('data', (chunk: Buffer) => chunks.push(chunk)));
  t.after(() => target.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${target.port}`]);
  t.after(() => bridge.close());

  const ws = await openClient(bridge.url, 'binary');
  // Invalid UTF-8 is closed with 1007 (utf8.test.ts).
  const texts = [Buffer.from('plain ascii'), Buffer.from('héllo wörld ☃ 🚀')];
  for (const text of texts) ws.send(text, { binary: false });
  const all = Buffer.concat(texts);
  await waitFor(() => Buffer.concat(chunks).length >= all.length, 5000, 'the text bytes at the target');
  assert.deepEqual(Buffer.concat(chunks), all);
  assert.equal(ws.readyState, ws.OPEN, 'the session must stay open after text frames');
  ws.close(1000);
  assert.equal((await closed(ws)).code, 1000);
});

test('every chunk the target writes arrives as one binary frame with exactly its bytes', async (t) => {
  let targetSocket: Socket | undefined;
  const target = await startTcpServer((socket) => {
    targetSocket = socket;
  });
  t.after(() => target.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${target.port}`]);
  t.after(() => bridge.close());

  const ws = await openClient(bridge.url);
  const messages: { data: Buffer; isBinary: boolean }[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => messages.push({ data, isBinary }));
  await waitFor(() => targetSocket !== undefined, 2000, 'the target connection');
  // Text-looking bytes included: the bridge must not guess a frame type from the content.
  const writes = [
    Buffer.from('RFB 003.008\n'),
    Buffer.from([0]),
    Buffer.from('{"json": true}'),
    randomBytes(1000),
  ];
  for (let i = 0; i < 12; i++) writes.push(randomBytes(randomInt(1, 4096)));
  for (const [i, chunk] of writes.entries()) {
    // One write at a time, each after the previous arrived: the bridge reads each as its own chunk.
    targetSocket!.write(chunk);
    await waitFor(() => messages.length > i, 2000, `message ${i}`);
  }
  assert.equal(messages.length, writes.length);
  for (const [i, message] of messages.entries()) {
    assert.equal(message.isBinary, true, `message ${i} must be binary`);
    assert.deepEqual(message.data, writes[i], `message ${i} content`);
  }
  ws.close(1000);
  await closed(ws);
});
