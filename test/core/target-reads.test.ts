// Plain targets are read into one buffer shared by every session, or while they stream into reused buffers
// of their own (src/targets/target-feed.ts). These tests make that reuse visible if it ever leaks: concurrent floods
// with distinct contents read by clients that stall and resume (so writes to them go asynchronous), targets
// that speak and hang up at once, and a feed that gets bytes before it has an owner.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import type WebSocket from 'ws';
import { streamingBuffersInUse, TargetFeed } from '../../src/targets/target-feed.js';
import { closed, openClient, receive, startBridge, startTcpServer, waitFor } from '../helpers/bridge.js';
import { selfSigned } from '../helpers/pki.js';
import { tempDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;

/** Session k's stream: byte i is (i * 7 + k * 31) mod 251, so no two sessions share a run of bytes. */
function pattern(k: number, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = ((offset + i) * 7 + k * 31) % 251;
  return out;
}

for (const secure of [false, true]) {
  const over = secure ? 'wss://' : 'ws://';
  test(`concurrent floods reach each stalling ${over} client intact and unmixed`, (t) => floods(t, secure));
}

async function floods(t: import('node:test').TestContext, secure: boolean): Promise<void> {
  const SESSIONS = 6;
  const BYTES = 4 * MiB;
  let accepted = 0;
  const target = await startTcpServer((socket) => {
    // The first line the client sends names its session; then the target floods that session's pattern.
    socket.once('data', (hello: Buffer) => {
      const k = Number(hello.toString());
      accepted++;
      let sent = 0;
      const pump = () => {
        while (sent < BYTES) {
          const n = Math.min(64 * 1024 - 13 * k, BYTES - sent); // chunk sizes differ per session
          const more = socket.write(pattern(k, sent, n));
          sent += n;
          if (!more) return void socket.once('drain', pump);
        }
        socket.end();
      };
      pump();
    });
  });
  t.after(() => target.close());
  const { cert, key } = selfSigned();
  const files = tempDir(t);
  const tls = secure ? ['--cert', files.write('cert.pem', cert), '--key', files.write('key.pem', key)] : [];
  const args = [...tls, '127.0.0.1:0', `127.0.0.1:${target.port}`, '--max-buffer', '1'];
  const bridge = await startBridge(args, { secure });
  t.after(() => bridge.close());

  const clients: WebSocket[] = [];
  for (let k = 0; k < SESSIONS; k++) clients.push(await openClient(bridge.url, undefined, { ca: cert }));
  const results = clients.map(async (ws, k) => {
    const ended = closed(ws);
    ws.send(Buffer.from(String(k)));
    // Odd sessions stall their reading now and then, so the bridge's writes to them queue up.
    const raw = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    if (k % 2 === 1) {
      const stall = setInterval(() => {
        raw.pause();
        setTimeout(() => raw.resume(), 30);
      }, 60);
      t.after(() => clearInterval(stall));
    }
    const got = await receive(ws, BYTES, 30000);
    assert.equal((await ended).code, 1000, `session ${k} closes normally`);
    return got;
  });
  const streams = await Promise.all(results);
  assert.equal(accepted, SESSIONS);
  streams.forEach((got, k) => {
    assert.equal(got.length, BYTES, `session ${k} length`);
    assert.ok(got.equals(pattern(k, 0, BYTES)), `session ${k} received exactly its own stream`);
  });
}

test('a target that greets and hangs up at once: the client gets the greeting, then 1000', async (t) => {
  const target = await startTcpServer((socket) => socket.end('RFB 003.008\n'));
  t.after(() => target.close());
  const silent = await startTcpServer((socket) => socket.end());
  t.after(() => silent.close());
  for (const [port, greeting] of [
    [target.port, 'RFB 003.008\n'],
    [silent.port, ''],
  ] as const) {
    const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${port}`]);
    t.after(() => bridge.close());
    const ws = await openClient(bridge.url);
    const ended = closed(ws);
    if (greeting) assert.equal((await receive(ws, greeting.length)).toString(), greeting);
    assert.equal((await ended).code, 1000);
  }
});

test('a feed keeps what arrives before its owner attaches, pauses, and hands it over first', async (t) => {
  const target = await startTcpServer((socket) => {
    socket.write('first ');
    setTimeout(() => socket.end('second'), 50);
  });
  t.after(() => target.close());
  const socket = TargetFeed.socket();
  t.after(() => socket.destroy());
  socket.connect(target.port, '127.0.0.1');
  await once(socket, 'connect');
  await new Promise((resolve) => setTimeout(resolve, 200)); // both writes and the EOF are on the wire
  assert.equal(socket.isPaused(), true, 'reading paused with no owner');
  assert.equal(socket.readableEnded, false, 'the EOF waits behind the pause');
  const got: string[] = [];
  const feed = TargetFeed.of(socket);
  assert.ok(feed);
  feed.attach({
    targetData: (data, bytes) => {
      got.push(`${data}:${bytes}`);
      return false;
    },
  });
  await waitFor(() => socket.readableEnded, 2000, 'EOF after the owner attached');
  assert.deepEqual(got, ['first :given', 'second:borrowed']);
});

test('streaming read buffers are capped across sessions and given back when sessions end', async (t) => {
  const SESSIONS = 40;
  // Targets that flood, clients that stop reading: each session pauses its target right after a full
  // read, which is when a socket holds its streaming buffer.
  const flood = Buffer.alloc(16 * MiB, 7); // more than the socket buffers on the way and the queue hold
  const target = await startTcpServer((socket) => {
    socket.write(flood);
    socket.on('end', () => socket.end());
  });
  t.after(() => target.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${target.port}`, '--max-buffer', '1']);
  t.after(() => bridge.close());
  const clients: WebSocket[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const ws = await openClient(bridge.url);
    (ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    clients.push(ws);
  }
  let held = 0;
  const sampler = setInterval(() => {
    held = Math.max(held, streamingBuffersInUse());
  }, 5);
  t.after(() => clearInterval(sampler));
  await waitFor(() => held >= 32, 10000, 'the streaming buffers to be taken');
  await new Promise((resolve) => setTimeout(resolve, 300));
  clearInterval(sampler);
  assert.equal(held, 32, 'at most 32 streaming buffers at any time');
  for (const ws of clients) ws.terminate();
  await waitFor(() => bridge.bridge.sessions.size === 0, 8000, 'every session to end');
  assert.equal(streamingBuffersInUse(), 0, 'the streaming buffers came back');
});
