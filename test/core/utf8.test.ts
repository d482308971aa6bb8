// Text messages must be valid UTF-8 (RFC 6455 5.6, 8.1). The bridge relayed any bytes in text frames: it must
// close with 1007 and a log line at the first impossible byte, across fragments and reads, relay valid text
// byte for byte, and relay anything with --no-utf8-check. The same holds on the permessage-deflate path (the
// ws library), which accepted and echoed a close reason that is not UTF-8.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { startBridge, startTcpServer, waitFor } from '../helpers/bridge.js';
import { clientFrame, closePayload, FrameReader, rawClient } from '../helpers/frames.js';
import { INVALID_UTF8, type Utf8Case, VALID_UTF8 } from '../helpers/utf8-cases.js';

const DEFLATE = 'Sec-WebSocket-Extensions: permessage-deflate\r\n';

/** A bridge to a target that keeps what each connection sent; raw clients are dropped before it closes. */
async function setup(t: TestContext, extra: string[] = []) {
  const received: Buffer[][] = [];
  const target = await startTcpServer((socket) => {
    const chunks: Buffer[] = [];
    received.push(chunks);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => socket.end());
  });
  const bridge = await startBridge([
    '127.0.0.1:0',
    `127.0.0.1:${target.port}`,
    '--log-format',
    'json',
    ...extra,
  ]);
  const sockets: Socket[] = [];
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await bridge.close();
    await target.close();
  });
  const raw = async (headers = '') => {
    const { socket, rest } = await rawClient(bridge.port, headers);
    sockets.push(socket);
    socket.setNoDelay(true);
    return { socket, frames: new FrameReader(socket, rest) };
  };
  const closeLines = () =>
    bridge.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.event === 'session.close');
  return { bridge, received, raw, closeLines };
}

/** The frames of a text message made of `fragments`. */
function textMessage(fragments: readonly Buffer[]): Buffer {
  return Buffer.concat(
    fragments.map((payload, i) =>
      clientFrame(i === 0 ? 0x1 : 0x0, payload, { fin: i === fragments.length - 1 }),
    ),
  );
}

const messageBytes = (c: Utf8Case) => Buffer.concat(c.fragments);

/** Writes `bytes` one at a time, each in its own TCP segment and read. */
async function dribble(socket: Socket, bytes: Buffer): Promise<void> {
  for (const byte of bytes) {
    socket.write(Buffer.from([byte]));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

async function expectClose(frames: FrameReader, code: number, name: string): Promise<void> {
  const reply = await frames.next();
  assert.equal(reply?.opcode, 0x8, `${name}: a close frame`);
  assert.equal(reply?.payload.readUInt16BE(0), code, `${name}: close code`);
  assert.equal(await frames.next(), undefined, `${name}: the connection is closed`);
}

test('each invalid UTF-8 text message is closed with 1007 and a close line, its bad bytes not relayed', async (t) => {
  const { raw, received, closeLines } = await setup(t);
  for (const c of INVALID_UTF8) {
    const { socket, frames } = await raw();
    socket.write(textMessage(c.fragments));
    await expectClose(frames, 1007, c.name);
  }
  await waitFor(() => closeLines().length === INVALID_UTF8.length, 5000, 'a close line per case');
  assert.deepEqual(
    closeLines().map((l) => [l.code, l.closed_by]),
    INVALID_UTF8.map(() => [1007, 'bridge']),
  );
  // What reached the target is at most the valid start of a message; a frame is checked before any of it
  // is relayed, so nothing of a one-frame message.
  for (const [i, c] of INVALID_UTF8.entries()) {
    const got = Buffer.concat(received[i] ?? []);
    assert.ok(
      messageBytes(c).subarray(0, got.length).equals(got),
      `${c.name}: relayed ${got.toString('hex')}`,
    );
    if (c.fragments.length === 1) assert.equal(got.length, 0, `${c.name}: relayed ${got.toString('hex')}`);
  }
});

test('invalid UTF-8 fails fast: at the first bad fragment, and mid-frame before the rest of it arrives', async (t) => {
  const { raw } = await setup(t);
  // Autobahn 6.4.x: the first fragment is already invalid; the rest is never sent.
  const first = await raw();
  first.socket.write(clientFrame(0x1, Buffer.from([0xce, 0xba, 0xf4, 0x90, 0x80, 0x80]), { fin: false }));
  await expectClose(first.frames, 1007, 'invalid first fragment');
  // A 1000-byte frame of which only the first bytes, holding a surrogate, are sent.
  const partial = await raw();
  const frame = clientFrame(
    0x1,
    Buffer.concat([Buffer.from([0x61, 0xed, 0xa0, 0x80]), Buffer.alloc(996, 0x61)]),
  );
  partial.socket.write(frame.subarray(0, 16));
  await expectClose(partial.frames, 1007, 'invalid start of a frame');
});

test('characters split across TCP reads: valid ones relayed intact, an invalid one closed with 1007', async (t) => {
  const { raw, received } = await setup(t);
  const valid = Buffer.from('a😀b€c', 'utf8');
  const { socket } = await raw();
  await dribble(socket, textMessage([valid.subarray(0, 3), valid.subarray(3)]));
  await waitFor(
    () => Buffer.concat(received[0] ?? []).length >= valid.length,
    5000,
    'the text at the target',
  );
  assert.ok(Buffer.concat(received[0] ?? []).equals(valid));
  assert.equal(socket.destroyed, false);

  const bad = await raw();
  await dribble(bad.socket, textMessage([Buffer.from([0x61, 0xf4]), Buffer.from([0x90, 0x80, 0x80])]));
  await expectClose(bad.frames, 1007, 'U+110000 dribbled');
});

test('valid UTF-8 text, however fragmented and interleaved with a ping, is relayed byte for byte', async (t) => {
  const { raw, received } = await setup(t);
  const { socket, frames } = await raw();
  const wire: Buffer[] = [];
  for (const c of VALID_UTF8) {
    wire.push(textMessage(c.fragments));
    wire.push(clientFrame(0x2, Buffer.from([0xff, 0xfe]))); // binary frames are not text
  }
  const [first, ...rest] = VALID_UTF8.at(-1)!.fragments;
  wire.push(clientFrame(0x1, first!, { fin: false }), clientFrame(0x9, Buffer.from('p')));
  wire.push(...rest.map((payload, i) => clientFrame(0x0, payload, { fin: i === rest.length - 1 })));
  socket.write(Buffer.concat(wire));
  const expected = Buffer.concat([
    ...VALID_UTF8.flatMap((c) => [messageBytes(c), Buffer.from([0xff, 0xfe])]),
    messageBytes(VALID_UTF8.at(-1)!),
  ]);
  await waitFor(
    () => Buffer.concat(received[0] ?? []).length >= expected.length,
    5000,
    'all text at the target',
  );
  assert.ok(Buffer.concat(received[0] ?? []).equals(expected));
  assert.equal((await frames.next())?.opcode, 0xa, 'the ping is answered and the session stays open');
});

test('--no-utf8-check relays invalid text and accepts a close reason that is not UTF-8', async (t) => {
  const { raw, received, closeLines } = await setup(t, ['--no-utf8-check']);
  const { socket, frames } = await raw();
  socket.write(Buffer.concat(INVALID_UTF8.map((c) => textMessage(c.fragments))));
  const expected = Buffer.concat(INVALID_UTF8.map(messageBytes));
  await waitFor(
    () => Buffer.concat(received[0] ?? []).length >= expected.length,
    5000,
    'all bytes at the target',
  );
  assert.ok(Buffer.concat(received[0] ?? []).equals(expected));
  socket.write(clientFrame(0x8, closePayload(4000, Buffer.from([0xc3, 0x28]))));
  await expectClose(frames, 4000, 'close with a reason that is not UTF-8');
  await waitFor(() => closeLines().length === 1, 3000, 'the close line');
  assert.equal(closeLines()[0]?.closed_by, 'client');
});

test('--permessage-deflate: invalid text and an invalid close reason are closed with 1007 there too', async (t) => {
  const { raw, closeLines } = await setup(t, ['--permessage-deflate']);
  const text = await raw(DEFLATE);
  text.socket.write(textMessage([Buffer.from([0x61, 0xed, 0xa0, 0x80])]));
  await expectClose(text.frames, 1007, 'deflate: surrogate in text');
  const reason = await raw(DEFLATE);
  reason.socket.write(clientFrame(0x8, closePayload(1000, Buffer.from([0xc3, 0x28]))));
  await expectClose(reason.frames, 1007, 'deflate: close reason not UTF-8');
  await waitFor(() => closeLines().length === 2, 3000, 'two close lines');
  assert.deepEqual(
    closeLines().map((l) => l.code),
    [1007, 1007],
  );
});

test('--permessage-deflate --no-utf8-check relays invalid text as before', async (t) => {
  const { raw, received } = await setup(t, ['--permessage-deflate', '--no-utf8-check']);
  const { socket } = await raw(DEFLATE);
  const bytes = Buffer.from([0x61, 0xed, 0xa0, 0x80, 0xff]);
  socket.write(textMessage([bytes]));
  await waitFor(
    () => Buffer.concat(received[0] ?? []).length >= bytes.length,
    5000,
    'the bytes at the target',
  );
  assert.ok(Buffer.concat(received[0] ?? []).equals(bytes));
});
