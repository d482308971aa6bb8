// wstcp's own framing on the wire, driven by a raw socket so that the test can send what a WebSocket library
// never would: pings, close frames with good and bad codes, protocol violations, frames dribbled a byte at
// a time. Every violation must get its close code and a log line, and leave other sessions alone.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import {
  closed,
  openClient,
  receive,
  startBridge,
  startEcho,
  startTcpServer,
  waitFor,
} from '../helpers/bridge.js';
import { clientFrame, closePayload, FrameReader, rawClient } from '../helpers/frames.js';

/** Raw clients opened by a test: dropped before its bridge closes, which would wait for their close frames. */
const rawSockets = new Set<Socket>();

async function setupEcho(t: import('node:test').TestContext, extra: string[] = []) {
  const echo = await startEcho();
  t.after(() => echo.close());
  const args = ['127.0.0.1:0', `127.0.0.1:${echo.port}`, '--log-format', 'json', ...extra];
  const bridge = await startBridge(args);
  t.after(() => {
    for (const socket of rawSockets) socket.destroy();
    rawSockets.clear();
    return bridge.close();
  });
  return bridge;
}

async function raw(port: number) {
  const { socket, rest } = await rawClient(port);
  rawSockets.add(socket);
  return { socket, frames: new FrameReader(socket, rest) };
}

function closeLines(logs: string[]): Record<string, unknown>[] {
  return logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'session.close');
}

test('a ping is answered with a pong carrying the same payload; server frames are final and unmasked', async (t) => {
  const bridge = await setupEcho(t);
  const { socket, frames } = await raw(bridge.port);
  socket.write(clientFrame(0x9, Buffer.from('ping payload')));
  const pong = await frames.next();
  assert.deepEqual(
    { ...pong, payload: pong?.payload.toString() },
    { fin: true, rsv: 0, masked: false, opcode: 0xa, payload: 'ping payload' },
  );
  socket.write(clientFrame(0x2, Buffer.from('echo me')));
  const echoed = await frames.next();
  assert.deepEqual(
    { opcode: echoed?.opcode, masked: echoed?.masked, payload: echoed?.payload.toString() },
    {
      opcode: 0x2,
      masked: false,
      payload: 'echo me',
    },
  );
});

test('frames dribbled one byte per write, with a ping inside a fragmented message, arrive intact', async (t) => {
  let received = Buffer.alloc(0);
  const target = await startTcpServer((s) =>
    s.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
    }),
  );
  t.after(() => target.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${target.port}`]);
  const { socket, frames } = await raw(bridge.port);
  t.after(() => {
    socket.destroy();
    return bridge.close();
  });
  socket.setNoDelay(true);
  const parts = [randomBytes(300), randomBytes(70), randomBytes(5)];
  const wire = Buffer.concat([
    clientFrame(0x2, parts[0] as Buffer, { fin: false }),
    clientFrame(0x9, Buffer.from('mid')),
    clientFrame(0x0, parts[1] as Buffer, { fin: false }),
    clientFrame(0x0, parts[2] as Buffer),
  ]);
  for (const byte of wire) {
    socket.write(Buffer.from([byte]));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await waitFor(() => received.length >= 375, 5000, 'all payload at the target');
  assert.ok(received.equals(Buffer.concat(parts)));
  assert.equal((await frames.next())?.payload.toString(), 'mid');
});

test('a client close frame is answered with the same code, then the bridge ends the connection', async (t) => {
  const bridge = await setupEcho(t);
  for (const [payload, answer] of [
    [closePayload(4001, 'done here'), closePayload(4001)],
    [Buffer.alloc(0), Buffer.alloc(0)],
  ] as const) {
    const { socket, frames } = await raw(bridge.port);
    socket.write(clientFrame(0x8, payload));
    const reply = await frames.next();
    assert.equal(reply?.opcode, 0x8);
    assert.ok(reply?.payload.equals(answer), `answer ${reply?.payload.toString('hex')}`);
    assert.equal(await frames.next(), undefined, 'the bridge closes the connection after the close frames');
  }
  await waitFor(() => closeLines(bridge.logs).length === 2, 2000, 'two close lines');
  assert.deepEqual(
    closeLines(bridge.logs).map((l) => [l.code, l.reason, l.closed_by]),
    [
      [4001, 'done here', 'client'],
      [1005, undefined, 'client'],
    ],
  );
});

test('protocol violations close with 1002 or 1007 and a log line; a bystander session carries on', async (t) => {
  const bridge = await setupEcho(t);
  const bystander = await openClient(bridge.url);
  t.after(() => bystander.terminate());
  const cases: [string, Buffer, number][] = [
    ['unmasked frame', clientFrame(0x2, Buffer.from('x'), { masked: false }), 1002],
    ['compressed frame without permessage-deflate', clientFrame(0x2, Buffer.from('x'), { rsv: 0x40 }), 1002],
    ['unknown opcode', clientFrame(0x5, Buffer.from('x')), 1002],
    ['close with a 1-byte payload', clientFrame(0x8, Buffer.from([3])), 1002],
    ['close code 1005 sent on the wire', clientFrame(0x8, closePayload(1005)), 1002],
    ['close code 2999', clientFrame(0x8, closePayload(2999)), 1002],
    ['close reason not UTF-8', clientFrame(0x8, closePayload(1000, Buffer.from([0xc3, 0x28]))), 1007],
  ];
  for (const [name, bytes, code] of cases) {
    const { socket, frames } = await raw(bridge.port);
    socket.write(bytes);
    const reply = await frames.next();
    assert.equal(reply?.opcode, 0x8, name);
    assert.equal(reply?.payload.readUInt16BE(0), code, name);
    assert.equal(await frames.next(), undefined, `${name}: the connection is closed`);
  }
  await waitFor(() => closeLines(bridge.logs).length === cases.length, 3000, 'a close line per case');
  assert.deepEqual(
    closeLines(bridge.logs).map((l) => [l.code, l.closed_by]),
    cases.map(([, , code]) => [code, 'bridge']),
  );
  bystander.send(Buffer.from('still here'));
  assert.equal((await receive(bystander, 10)).toString(), 'still here');
});

test('a client that vanishes without a close frame ends its session with 1006', async (t) => {
  const bridge = await setupEcho(t);
  const { socket } = await raw(bridge.port);
  await waitFor(() => bridge.bridge.sessions.size === 1, 2000, 'the session');
  socket.destroy();
  await waitFor(() => closeLines(bridge.logs).length === 1, 3000, 'the close line');
  assert.equal(closeLines(bridge.logs)[0]?.code, 1006);
});

test('--permessage-deflate: ws carries compressed sessions; without the flag no extension is agreed', async (t) => {
  const payload = Buffer.alloc(1 << 20, 'compressible text '); // 1 MiB
  for (const flag of [true, false]) {
    const bridge = await setupEcho(t, flag ? ['--permessage-deflate'] : []);
    const ws = await openClient(bridge.url, undefined, { perMessageDeflate: true });
    assert.equal(ws.extensions.includes('permessage-deflate'), flag, `extensions: "${ws.extensions}"`);
    ws.send(payload);
    assert.ok(
      (await receive(ws, payload.length)).equals(payload),
      `echo with the flag ${flag ? 'on' : 'off'}`,
    );
    ws.close(4002);
    assert.equal((await closed(ws)).code, 4002);
  }
});

test('a client flooding pings without reading its pongs does not make the bridge queue them', async (t) => {
  const bridge = await setupEcho(t);
  const { socket } = await raw(bridge.port);
  await waitFor(() => bridge.bridge.sessions.size === 1, 2000, 'the session');
  const [session] = bridge.bridge.sessions;
  socket.pause(); // never read a pong
  const ping = clientFrame(0x9, Buffer.alloc(125, 1)); // the largest ping, answered with a 127-byte pong
  const flood = Buffer.concat(Array.from({ length: 512 }, () => ping)); // 67 KiB of pings per write
  for (let i = 0; i < 200; i++) socket.write(flood); // 102,400 pings: 13 MB of pongs if all were answered
  await waitFor(() => session!.queuedToClient >= 64 * 1024, 10000, 'the pong backlog to build up');
  await new Promise((resolve) => setTimeout(resolve, 500));
  const queued = session!.queuedToClient;
  assert.ok(queued < 256 * 1024, `the bridge queues ${queued} bytes of pongs`);
});
