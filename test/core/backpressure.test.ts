// A slow side must not make the bridge buffer without bound (websockify and websockify-js both do): with a
// target that stops reading, or a client that stops reading, the bridge holds about --max-buffer per
// direction, its memory stays flat while 128 MiB are offered, and every byte arrives once the side resumes.
//
// The flooding side offers its data as 128 writes of one and the same 1 MiB buffer, so the offered bytes
// cost the test process 1 MiB, and memory growth measured in this process is the bridge's.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import type { Session } from '../../src/relay/session.js';
import { closed, openClient, startBridge, startTcpServer, waitFor } from '../helpers/bridge.js';
import { clientFrame, rawClient } from '../helpers/frames.js';
import { selfSigned } from '../helpers/pki.js';
import { tempDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;
const BLOCK = randomBytes(MiB);
const BLOCKS = 128;
const OFFERED = BLOCK.length * BLOCKS;
/** --max-buffer plus the one message or chunk that crosses it. */
const QUEUE_BOUND = 2 * MiB;
/**
 * What may sit between the two sides while one is stalled: --max-buffer (1 MiB) in the bridge plus the
 * kernel's socket buffers on the way (loopback send and receive buffers, which autotune up to a few MiB).
 */
const HELD_BOUND = 16 * MiB;
const MEMORY_GROWTH_BOUND = 64 * MiB;

/** Checks that a byte stream is BLOCK repeated, chunk by chunk, without holding it. */
class RepeatedBlockCheck {
  bytes = 0;
  mismatchAt: number | undefined;

  feed(chunk: Buffer): void {
    for (let done = 0; done < chunk.length; ) {
      const at = (this.bytes + done) % BLOCK.length;
      const n = Math.min(chunk.length - done, BLOCK.length - at);
      if (
        this.mismatchAt === undefined &&
        !chunk.subarray(done, done + n).equals(BLOCK.subarray(at, at + n))
      ) {
        this.mismatchAt = this.bytes + done;
      }
      done += n;
    }
    this.bytes += chunk.length;
  }
}

/** Resolves once `value()` has not changed for `quietMs` (the stalled side has stopped the flow). */
async function settled(value: () => number, quietMs = 500, timeoutMs = 10000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = value();
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() > deadline) throw new Error(`still moving after ${timeoutMs} ms (at ${value()})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = value();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
  return last;
}

/** The session's own queues: what the bridge itself holds in memory, not the kernel's socket buffers. */
function queued(session: Session): { toTarget: number; toClient: number } {
  return { toTarget: session.queuedToTarget, toClient: session.queuedToClient };
}

function rss(): number {
  return process.memoryUsage().rss;
}

test('a target that stops reading stops the bridge reading from the client; all arrives on resume', async (t) => {
  let targetSocket: Socket | undefined;
  const target = await startTcpServer((socket) => {
    targetSocket = socket;
    socket.pause();
  });
  t.after(() => target.close());
  const bridge = await startBridge(['--max-buffer', '1', '127.0.0.1:0', `127.0.0.1:${target.port}`]);
  t.after(() => bridge.close());

  // A masked, final, binary frame carrying BLOCK, built once and written many times.
  const frame = clientFrame(0x2, BLOCK);
  const { socket: client } = await rawClient(bridge.port);
  t.after(() => client.destroy());
  await waitFor(() => bridge.bridge.sessions.size === 1 && targetSocket !== undefined, 2000, 'the session');
  const [session] = bridge.bridge.sessions;
  const baseline = rss();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 20);
  t.after(() => clearInterval(sampler));

  for (let i = 0; i < BLOCKS; i++) client.write(frame);
  const taken = await settled(() => session!.bytesToTarget);
  peak = Math.max(peak, rss());
  clearInterval(sampler);

  // The target read nothing: everything the bridge took is still between the bridge and the target.
  assert.ok(taken <= HELD_BOUND, `the bridge took ${taken} bytes from the client while the target read none`);
  const { toTarget } = queued(session!);
  assert.ok(toTarget <= QUEUE_BOUND, `the session queues ${toTarget} bytes for the target`);
  assert.ok(
    client.writableLength >= OFFERED - HELD_BOUND * 2,
    `the client should still hold most of what it offered (${client.writableLength} bytes)`,
  );
  assert.ok(
    peak - baseline < MEMORY_GROWTH_BOUND,
    `memory grew by ${((peak - baseline) / MiB).toFixed(1)} MiB while ${OFFERED / MiB} MiB were offered`,
  );

  const check = new RepeatedBlockCheck();
  targetSocket!.on('data', (chunk: Buffer) => check.feed(chunk));
  targetSocket!.resume();
  await waitFor(() => check.bytes >= OFFERED, 30000, 'every byte at the target after it resumed');
  assert.equal(check.bytes, OFFERED);
  assert.equal(check.mismatchAt, undefined, `data differs at byte ${check.mismatchAt}`);
  assert.equal(session!.bytesToTarget, OFFERED);
  // The raw client does not answer close frames: drop it, the session must end by itself.
  client.destroy();
  await waitFor(() => bridge.bridge.sessions.size === 0, 5000, 'the session to end');
});

test('a client that stops reading pauses the target; all arrives in order on resume, then 1000', async (t) => {
  const target = await startTcpServer((socket) => {
    for (let i = 0; i < BLOCKS; i++) socket.write(BLOCK);
    socket.end();
  });
  t.after(() => target.close());
  const bridge = await startBridge(['--max-buffer', '1', '127.0.0.1:0', `127.0.0.1:${target.port}`]);
  t.after(() => bridge.close());

  const baseline = rss();
  const ws = await openClient(bridge.url);
  t.after(() => ws.terminate());
  const underlying = (ws as unknown as { _socket: Socket })._socket;
  underlying.pause();
  const check = new RepeatedBlockCheck();
  let textFrames = 0;
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    check.feed(data);
    if (!isBinary) textFrames++;
  });
  const closing = closed(ws);
  await waitFor(() => bridge.bridge.sessions.size === 1, 2000, 'the session');
  const [session] = bridge.bridge.sessions;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 20);
  t.after(() => clearInterval(sampler));

  const sent = await settled(() => session!.bytesToClient);
  peak = Math.max(peak, rss());
  clearInterval(sampler);
  const held = sent - check.bytes;
  assert.ok(held <= HELD_BOUND, `the bridge holds ${held} bytes for a client that stopped reading`);
  const { toClient } = queued(session!);
  assert.ok(toClient <= QUEUE_BOUND, `the session queues ${toClient} bytes for the client`);
  assert.ok(sent < OFFERED / 2, `the bridge read ${sent} of ${OFFERED} bytes from the target`);
  assert.ok(
    peak - baseline < MEMORY_GROWTH_BOUND,
    `memory grew by ${((peak - baseline) / MiB).toFixed(1)} MiB while ${OFFERED / MiB} MiB were offered`,
  );

  underlying.resume();
  await waitFor(() => check.bytes >= OFFERED, 30000, 'every byte at the client after it resumed');
  assert.equal(check.bytes, OFFERED);
  assert.equal(check.mismatchAt, undefined, `data differs at byte ${check.mismatchAt}`);
  assert.equal(textFrames, 0);
  assert.equal((await closing).code, 1000, 'target EOF after the flood closes with 1000');
});

test('towards a stalled TLS client at most 1 MiB (plus one chunk) is queued, even with the default --max-buffer', async (t) => {
  const target = await startTcpServer((socket) => {
    for (let i = 0; i < 32; i++) socket.write(BLOCK);
    socket.end();
  });
  t.after(() => target.close());
  const files = tempDir(t);
  const { cert, key } = selfSigned();
  const certArgs = ['--cert', files.write('cert.pem', cert), '--key', files.write('key.pem', key)];
  const bridge = await startBridge([...certArgs, '127.0.0.1:0', `127.0.0.1:${target.port}`], {
    secure: true,
  });
  t.after(() => bridge.close());

  const ws = await openClient(bridge.url, undefined, { ca: cert });
  t.after(() => ws.terminate());
  (ws as unknown as { _socket: Socket })._socket.pause();
  await waitFor(() => bridge.bridge.sessions.size === 1, 2000, 'the session');
  const [session] = bridge.bridge.sessions;
  await settled(() => session!.bytesToClient);
  const { toClient } = queued(session!);
  assert.ok(toClient <= MiB + 256 * 1024, `the session queues ${toClient} bytes for a TLS client`);
  assert.ok(toClient > 0, 'the stalled client does hold up the queue');
  ws.terminate(); // before the bridge closes, which would wait for this client's closing handshake
});

// --max-buffer counted payload bytes only, while each 1-byte frame became its own queued write of a few
// hundred bytes: a flood of tiny frames to a target that does not read took hundreds of MiB (issue 18).
test('a flood of 1-byte frames to a target that does not read costs about --max-buffer, not a write per frame', async (t) => {
  const target = await startTcpServer((socket) => socket.pause());
  t.after(() => target.close());
  const bridge = await startBridge(['--max-buffer', '1', '127.0.0.1:0', `127.0.0.1:${target.port}`]);
  t.after(() => bridge.close());
  const { socket: client } = await rawClient(bridge.port);
  t.after(() => client.destroy());
  await waitFor(() => bridge.bridge.sessions.size === 1, 2000, 'the session');
  const [session] = bridge.bridge.sessions;

  // 9,362 masked 1-byte frames (7 bytes each) in one 64 KiB block, written again and again.
  const one = clientFrame(0x2, Buffer.from('x'));
  const block = Buffer.concat(Array.from({ length: Math.floor(65536 / one.length) }, () => one));
  const baseline = rss();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 20);
  t.after(() => clearInterval(sampler));
  const FRAMES = 3_000_000;
  for (let offered = 0; offered < FRAMES * one.length; offered += block.length) {
    if (!client.write(block)) {
      const drained = await Promise.race([
        new Promise((resolve) => client.once('drain', () => resolve(true))),
        new Promise((resolve) => setTimeout(resolve, 1000, false)),
      ]);
      if (!drained) break; // the bridge stopped reading: the limit holds
    }
  }
  await settled(() => session!.bytesToTarget);
  peak = Math.max(peak, rss());
  clearInterval(sampler);
  assert.ok(
    peak - baseline < 48 * MiB,
    `memory grew by ${((peak - baseline) / MiB).toFixed(1)} MiB for ${session!.bytesToTarget} frames taken`,
  );
});
