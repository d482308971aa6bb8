// The client's own WebSocket framing against servers that frame differently from wstcp: fragmented
// messages with pings in between, text frames, frames cut into single bytes, a close with a code, and a
// server that breaks the protocol. What arrives on stdout must be every payload byte, in order.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { ExitCode } from '../../src/client/errors.js';
import { connectOnce, runClient } from '../helpers/client.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

async function wsServer(t: TestContext, onConnection: (ws: import('ws').WebSocket) => void): Promise<string> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'binary' });
  await once(server, 'listening');
  t.after(() => server.close());
  server.on('connection', onConnection);
  return `ws://127.0.0.1:${(server.address() as { port: number }).port}/`;
}

test('fragmented messages, text frames and pings in between arrive as their bytes; pings are answered', async (t) => {
  const parts = [randomBytes(70000), Buffer.from('text part', 'utf8'), randomBytes(3), randomBytes(200)];
  let pongs = 0;
  const url = await wsServer(t, (ws) => {
    ws.on('pong', () => {
      pongs++;
      if (pongs === 2) ws.close(1000);
    });
    ws.send(parts[0]!, { binary: true, fin: false });
    ws.ping('p1');
    ws.send(parts[1]!, { binary: true, fin: true });
    ws.send(parts[2]!.toString('latin1'));
    ws.ping();
    ws.send(parts[3]!, { binary: true });
  });
  const run = runClient(t, ['connect', url]);
  assert.equal(await run.exited, ExitCode.OK, run.stderr());
  assert.equal(pongs, 2);
  const text = Buffer.from(parts[2]!.toString('latin1'), 'utf8');
  assert.deepEqual(run.stdout(), Buffer.concat([parts[0]!, parts[1]!, text, parts[3]!]));
});

/**
 * A bare TCP server that answers the handshake itself, then writes `frames` one byte per write, or (`burst`)
 * the answer and all the frames in one write.
 */
async function byteServer(t: TestContext, frames: Buffer, burst = false): Promise<string> {
  const server = createServer(async (socket: Socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    // Not `for await`: leaving that loop would destroy the socket.
    let request = '';
    while (!request.includes('\r\n\r\n')) {
      const [chunk] = (await once(socket, 'data')) as [Buffer];
      request += chunk.toString('latin1');
    }
    const key = /sec-websocket-key: *(\S+)/i.exec(request)?.[1] ?? '';
    const accept = createHash('sha1')
      .update(key + GUID)
      .digest('base64');
    const answer = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: binary\r\n\r\n`;
    if (burst) {
      socket.write(Buffer.concat([Buffer.from(answer, 'latin1'), frames]));
      return;
    }
    socket.write(answer);
    for (const byte of frames) {
      socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return `ws://127.0.0.1:${(server.address() as { port: number }).port}/`;
}

function frame(opcode: number, payload: Buffer, fin = true, masked = false): Buffer {
  const length = payload.length;
  const header = Buffer.alloc(length < 126 ? 2 : length < 0x10000 ? 4 : 10);
  if (length < 126) header[1] = length;
  else if (length < 0x10000) {
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 127;
    header.writeUInt32BE(length, 6);
  }
  header[0] = (fin ? 0x80 : 0) | opcode;
  if (!masked) return Buffer.concat([header, payload]);
  header[1] = (header[1] as number) | 0x80;
  return Buffer.concat([header, Buffer.from([0, 0, 0, 0]), payload]);
}

test('frames cut into single bytes are read whole; the close code and reason reach stderr', async (t) => {
  const a = randomBytes(300);
  const b = randomBytes(5);
  const close = Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('bye now')]);
  const url = await byteServer(
    t,
    Buffer.concat([frame(2, a, false), frame(9, Buffer.from('hi')), frame(0, b, true), frame(8, close)]),
  );
  const result = await connectOnce(t, [url]);
  assert.equal(result.code, ExitCode.SESSION_FAILED);
  assert.match(result.stderr, /4000 bye now/);
  assert.deepEqual(result.stdout, Buffer.concat([a, b]));
});

test('a server that masks its frames breaks the protocol: exit 1', async (t) => {
  const url = await byteServer(t, frame(2, Buffer.from('masked'), true, true));
  const result = await connectOnce(t, [url]);
  assert.equal(result.code, ExitCode.SESSION_FAILED);
  assert.match(result.stderr, /masked/);
  assert.equal(result.stdout.length, 0);
});

// Guards the ws:// reads (src/client/server-reads.ts): frames that come in the same read as the 101 (Node's
// HTTP client hands them over as its `head`) and the megabytes read after the session took the socket over
// must all arrive, in order.
test('frames sent together with the 101 answer, in one write, all arrive in order', async (t) => {
  const payloads = Array.from({ length: 48 }, (_, i) => randomBytes(i % 2 === 0 ? 65536 + i : 100 + i));
  const close = Buffer.from([0x03, 0xe8]);
  const url = await byteServer(
    t,
    Buffer.concat([...payloads.map((p) => frame(2, p)), frame(8, close)]),
    true,
  );
  const result = await connectOnce(t, [url]);
  assert.equal(result.code, ExitCode.OK, result.stderr);
  assert.ok(result.stdout.equals(Buffer.concat(payloads)), 'every payload byte, in order');
});
