// `wstcp forward` as a real process in front of wstcp-the-server and the Python websockify: many
// concurrent TCP connections with hashed data both ways, several forwards in one process (pairs, --config,
// --unix-listen), a refused handshake, a close from the server, and backpressure in both directions.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { startBridge, startEcho, startTcpServer, waitFor } from '../helpers/bridge.js';
import { startForward } from '../helpers/client.js';
import { tempDir } from '../helpers/tmp.js';
import { startWebsockify } from '../helpers/websockify.js';

const MiB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

type Address = { port: number } | { path: string };

function dial(address: Address): Promise<Socket> {
  const socket = 'port' in address ? connect(address.port, '127.0.0.1') : connect(address.path);
  return once(socket, 'connect').then(() => socket);
}

/** Sends `data`, reads until as many bytes came back, then ends; resolves with what came back. */
async function echoRoundTrip(address: Address, data: Buffer): Promise<Buffer> {
  const socket = await dial(address);
  const chunks: Buffer[] = [];
  let got = 0;
  const all = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= data.length) resolve();
    });
    socket.once('close', () => reject(new Error(`closed after ${got} of ${data.length} bytes`)));
    socket.once('error', reject);
  });
  socket.write(data);
  await all;
  socket.end();
  await once(socket, 'close');
  return Buffer.concat(chunks);
}

async function concurrentEchoes(
  t: TestContext,
  address: Address,
  count: number,
  size: number,
): Promise<void> {
  const inputs = Array.from({ length: count }, () => randomBytes(size));
  const outputs = await Promise.all(inputs.map((data) => echoRoundTrip(address, data)));
  for (const [i, output] of outputs.entries()) {
    assert.equal(sha256(output), sha256(inputs[i]!), `connection ${i}`);
  }
  t.diagnostic(`${count} connections x ${size} bytes echoed intact`);
}

test('in front of wstcp: 20 concurrent connections, hashed data both ways, one session each', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${echo.port}`]);
  t.after(() => bridge.close());
  const forward = await startForward(t, ['127.0.0.1:0', bridge.url]);
  await concurrentEchoes(t, { port: forward.ports[0]! }, 20, 2 * MiB);
  await waitFor(
    () => forward.lines.filter((l) => l.event === 'forward.close').length === 20,
    5000,
    'close lines',
  );
  for (const line of forward.lines.filter((l) => l.event === 'forward.close')) {
    assert.equal(line.closer, 'local');
    assert.equal(line.code, 1000);
    assert.equal(line.up, 2 * MiB);
  }
  assert.equal(await forward.stop(), 0);
});

test('in front of the Python websockify: 20 concurrent connections, hashed data both ways', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const websockify = await startWebsockify(t, { target: `127.0.0.1:${echo.port}` });
  if (!websockify) return;
  const forward = await startForward(t, ['127.0.0.1:0', websockify.url]);
  await concurrentEchoes(t, { port: forward.ports[0]! }, 20, 512 * 1024);
  assert.equal(await forward.stop(), 0);
});

test('several forwards in one process: LOCAL URL pairs, --config lines and --unix-listen', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${echo.port}`]);
  t.after(() => bridge.close());
  const { dir } = tempDir(t);
  const config = join(dir, 'forwards');
  writeFileSync(config, `# one forward per line\n127.0.0.1:0 ${bridge.url}/from-config\n`);
  const pairs = await startForward(
    t,
    ['0', `${bridge.url}/a`, '127.0.0.1:0', `${bridge.url}/b`, '--config', config],
    3,
  );
  for (const port of pairs.ports) await concurrentEchoes(t, { port }, 2, 64 * 1024);
  assert.equal(await pairs.stop(), 0);
  const path = join(dir, 'forward.sock');
  const unix = await startForward(t, ['--unix-listen', path, bridge.url]);
  await concurrentEchoes(t, { path }, 2, 64 * 1024);
  assert.equal(await unix.stop(), 0);
});

test('a refused handshake closes the local connection and logs the status', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const tokens = join(tempDir(t).dir, 'tokens');
  writeFileSync(tokens, `good: 127.0.0.1:${echo.port}\n`);
  const bridge = await startBridge(['--token-plugin', 'TokenFile', '--token-source', tokens, '127.0.0.1:0']);
  t.after(() => bridge.close());
  const forward = await startForward(t, ['0', `${bridge.url}/?token=bad-t0ken`]);
  const socket = await dial({ port: forward.ports[0]! });
  socket.on('error', () => {});
  socket.resume();
  await once(socket, 'close');
  await waitFor(() => forward.lines.some((l) => l.event === 'forward.failed'), 5000, 'the failure line');
  const failed = forward.lines.find((l) => l.event === 'forward.failed')!;
  assert.equal(failed.status, 404);
  assert.equal(failed.code, 'WSTCP_CLIENT_REFUSED');
  assert.doesNotMatch(forward.stderr(), /bad-t0ken/);
  assert.equal(await forward.stop(), 0);
});

// Bug guarded against: ending the local socket on the server's close frame before the bytes received just
// before it were written loses the tail.
test("the server's close delivers every byte to the local connection, then EOF", async (t) => {
  const data = randomBytes(24 * MiB + 5);
  const source = await startTcpServer((socket) => socket.end(data));
  t.after(() => source.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${source.port}`]);
  t.after(() => bridge.close());
  const forward = await startForward(t, ['0', bridge.url]);
  const socket = await dial({ port: forward.ports[0]! });
  // A slow reader: the close frame arrives while the forward still holds bytes for it.
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    socket.pause();
    setTimeout(() => socket.resume(), 2);
  });
  await once(socket, 'end');
  assert.equal(sha256(Buffer.concat(chunks)), sha256(data));
  await waitFor(() => forward.lines.some((l) => l.event === 'forward.close'), 5000, 'the close line');
  assert.equal(forward.lines.find((l) => l.event === 'forward.close')!.closer, 'server');
});

/** Bytes a socket has handed to the kernel (written minus still queued in Node). */
const flushed = (socket: Socket) => socket.bytesWritten - socket.writableLength;

/** Writes `data` in 64 KiB pieces, honouring backpressure; resolves when all is queued. */
async function writeAll(socket: Socket, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length; offset += 64 * 1024) {
    if (!socket.write(data.subarray(offset, offset + 64 * 1024))) await once(socket, 'drain');
  }
}

/**
 * Without backpressure in the forward every byte would be taken at once. With it, what the chain holds is
 * the kernel's socket buffers on three connections (autotuned: up to ~10 MiB each on loopback, more on a busy
 * machine), wstcp's and the forward's queues: measured 18-51 MiB.
 */
const BACKPRESSURE_BYTES = 128 * MiB;
const HOLD_LIMIT_BYTES = 80 * MiB;

test('backpressure server -> local: a local reader that stops holds the target back, then gets everything', async (t) => {
  const data = randomBytes(BACKPRESSURE_BYTES);
  let target: Socket | undefined;
  const source = await startTcpServer((socket) => {
    target = socket;
    void writeAll(socket, data).then(() => socket.end());
  });
  t.after(() => source.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${source.port}`]);
  t.after(() => bridge.close());
  const forward = await startForward(t, ['0', bridge.url]);
  const socket = await dial({ port: forward.ports[0]! });
  socket.pause();
  await waitFor(() => target !== undefined, 5000, 'the target connection');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const held = flushed(target!);
  assert.ok(held < HOLD_LIMIT_BYTES, `the target could hand ${held} bytes to a reader that reads nothing`);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.resume();
  await once(socket, 'end');
  assert.equal(sha256(Buffer.concat(chunks)), sha256(data));
});

test('backpressure local -> server: a target that stops reading holds the local writer back, then gets everything', async (t) => {
  const data = randomBytes(BACKPRESSURE_BYTES);
  let target: Socket | undefined;
  const received: Buffer[] = [];
  const sink = await startTcpServer((socket) => {
    target = socket;
    socket.pause();
    socket.on('data', (chunk: Buffer) => received.push(chunk));
  });
  t.after(() => sink.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${sink.port}`]);
  t.after(() => bridge.close());
  const forward = await startForward(t, ['0', bridge.url]);
  const socket = await dial({ port: forward.ports[0]! });
  const writing = writeAll(socket, data);
  await waitFor(() => target !== undefined, 5000, 'the target connection');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const accepted = flushed(socket);
  assert.ok(
    accepted < HOLD_LIMIT_BYTES,
    `the local writer could hand over ${accepted} bytes to a target that reads nothing`,
  );
  target!.resume();
  await writing;
  socket.end();
  await waitFor(
    () => received.reduce((sum, c) => sum + c.length, 0) >= data.length,
    20000,
    'all bytes at the target',
  );
  assert.equal(sha256(Buffer.concat(received)), sha256(data));
});

// Bug guarded against: a local connection reset while the WebSocket was paused for it (the local reader had
// stopped) left the WebSocket paused, so the server's answer to the close went unread and the session hung
// until the 10 s close timeout.
test('a local reset while the server floods a stalled reader ends the session promptly', async (t) => {
  const source = await startTcpServer((socket) => {
    void writeAll(socket, randomBytes(64 * MiB)).catch(() => {});
  });
  t.after(() => source.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${source.port}`]);
  t.after(() => bridge.close());
  const forward = await startForward(t, ['0', bridge.url]);
  const socket = await dial({ port: forward.ports[0]! });
  socket.pause();
  await waitFor(() => forward.lines.some((l) => l.event === 'forward.open'), 5000, 'the session');
  await new Promise((resolve) => setTimeout(resolve, 500));
  socket.resetAndDestroy();
  const resetAt = Date.now();
  await waitFor(() => forward.lines.some((l) => l.event === 'forward.close'), 8000, 'the close line');
  assert.ok(Date.now() - resetAt < 3000, `closed ${Date.now() - resetAt} ms after the reset`);
  assert.equal(forward.lines.find((l) => l.event === 'forward.close')!.closer, 'local');
});

// Bug guarded against: with --heartbeat, a local reader that stopped for a while paused the WebSocket, the
// pongs behind the data went unread, and a live server was declared dead.
test('--heartbeat does not give up on a server whose answers wait behind a stalled local reader', async (t) => {
  const data = randomBytes(64 * MiB);
  const source = await startTcpServer((socket) => {
    void writeAll(socket, data).then(() => socket.end());
  });
  t.after(() => source.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${source.port}`]);
  t.after(() => bridge.close());
  const forward = await startForward(t, ['--heartbeat', '0.2', '0', bridge.url]);
  const socket = await dial({ port: forward.ports[0]! });
  socket.pause();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.ok(!forward.lines.some((l) => l.event === 'forward.close'), 'the session is still open');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.resume();
  await once(socket, 'end');
  assert.equal(sha256(Buffer.concat(chunks)), sha256(data));
});

test('SIGTERM closes live sessions with 1001 after their data, ends the local connections, exits 0', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${echo.port}`]);
  t.after(() => bridge.close());
  const forward = await startForward(t, ['0', bridge.url]);
  const socket = await dial({ port: forward.ports[0]! });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.write('before the signal');
  await waitFor(() => Buffer.concat(chunks).length === 17, 5000, 'the echo');
  const ended = once(socket, 'end');
  const stoppedAt = Date.now();
  assert.equal(await forward.stop(), 0);
  await ended;
  assert.ok(Date.now() - stoppedAt < 3000, `stopped after ${Date.now() - stoppedAt} ms`);
  await waitFor(() => bridge.bridge.sessions.size === 0, 5000, 'the server session to close');
  assert.match(bridge.logs.filter((l) => l.includes('session.close')).pop() ?? '', /code=1001/);
  assert.equal(forward.lines.find((l) => l.event === 'forward.close')?.closer, 'shutdown');
});
