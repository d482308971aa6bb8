// --max-buffer must bound what queued writes cost, not only their bytes: a client sending one tiny frame per
// read to a target that does not read made one queued write per frame, each a few hundred bytes of memory
// for one byte counted, so a 4 MiB limit let hundreds of MiB pile up (issue 18). Over loopback the kernel
// absorbs megabytes of tiny segments first, so the target here is a stream that never completes a write
// (the undici way of forcing backpressure); the client is a real WebSocket link on a real socket.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import { Logger } from '../../src/observe/log.js';
import { Session } from '../../src/relay/session.js';
import { SocketStream } from '../../src/targets/socket-stream.js';
import { FrameLink } from '../../src/websocket/frame-link.js';
import { waitFor } from '../helpers/bridge.js';
import { clientFrame } from '../helpers/frames.js';

const MAX_BUFFER_BYTES = 64 * 1024;

test('one 1-byte frame per read to a stalled target: reading pauses after a bounded number of writes', async (t) => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  const [serverSide] = (await once(server, 'connection')) as [Socket];
  t.after(() => {
    client.destroy();
    serverSide.destroy();
  });
  client.setNoDelay(true);

  let writes = 0;
  let release: (() => void) | undefined;
  const stalledTarget = new Duplex({
    read() {},
    write(_chunk, _encoding, done) {
      writes++;
      // Held until the test lets the target read again.
      if (release) done();
      else release = done;
    },
  });
  t.after(() => stalledTarget.destroy());
  const link = new FrameLink(serverSide, '', 1 << 20, Buffer.alloc(0));
  const init = {
    id: 1,
    clientAddress: '127.0.0.1',
    clientPort: 1,
    target: 'stalled',
    releases: [],
    recorder: undefined,
  };
  const session = new Session(
    init,
    link,
    new SocketStream(stalledTarget),
    { maxBufferBytes: MAX_BUFFER_BYTES, log: new Logger({ sink: () => {} }), traffic: false },
    () => {},
  );

  // Each frame in its own read: the next one is written only after the bridge took the previous one.
  const frame = clientFrame(0x2, Buffer.from('x'));
  const FRAMES = 2000;
  for (let i = 0; i < FRAMES && !link.paused; i++) {
    client.write(frame);
    await waitFor(() => session.bytesToTarget > i || link.paused, 2000, `frame ${i} taken`);
  }
  assert.ok(link.paused, `reading from the client was never paused (${session.bytesToTarget} writes queued)`);
  // 64 KiB at a few hundred bytes per write: a couple of hundred writes, not one per byte of the limit.
  assert.ok(session.bytesToTarget <= 256, `${session.bytesToTarget} one-byte writes queued before the pause`);
  assert.equal(writes, 1, 'the target took only the first write');

  // The target reads again: the client is resumed even though the queue never reached 'drain' size.
  const queued = session.bytesToTarget;
  const held = release;
  release = () => {};
  held?.();
  await waitFor(() => !link.paused, 2000, 'reading from the client to resume');
  client.write(frame);
  await waitFor(() => session.bytesToTarget === queued + 1, 2000, 'the next frame taken');
});
