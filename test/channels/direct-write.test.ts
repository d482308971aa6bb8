/**
 * The fan-out's write around Node's stream (direct-write.ts), on real loopback sockets: what it writes
 * arrives, and a write to a socket destroyed meanwhile neither throws nor reaches whatever connection
 * gets the closed socket's descriptor next.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { SubscriberWriter } from '../../src/channels/direct-write.js';

interface Pair {
  readonly server: Socket;
  readonly client: Socket;
  received(): Buffer;
}

async function pair(listener: Server): Promise<Pair> {
  const accepted = once(listener, 'connection') as Promise<[Socket]>;
  const client = connect((listener.address() as { port: number }).port, '127.0.0.1');
  const connected = once(client, 'connect');
  const chunks: Buffer[] = [];
  client.on('data', (chunk: Buffer) => chunks.push(chunk));
  const [[server]] = await Promise.all([accepted, connected]);
  return { server, client, received: () => Buffer.concat(chunks) };
}

const settle = () => new Promise((r) => setTimeout(r, 50));

test('a subscriber writer delivers, and after its socket is destroyed writes nowhere, even on a reused descriptor', async (t) => {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const open: Socket[] = [];
  t.after(() => {
    for (const socket of open) socket.destroy();
    listener.close();
  });
  const first = await pair(listener);
  open.push(first.server, first.client);
  const fd = (first.server as unknown as { _handle: { fd: number } })._handle.fd;
  const writer = new SubscriberWriter(first.server);
  const errors: unknown[] = [];
  first.server.on('error', (err) => errors.push(err));

  writer.write(Buffer.from('one'), writer.queued());
  await settle();
  assert.equal(first.received().toString(), 'one');

  // Destroyed: the handle is closed at once, the 'close' event comes later.
  first.server.destroy();
  assert.doesNotThrow(() => writer.write(Buffer.from('after destroy'), writer.queued()));
  await once(first.server, 'close');
  assert.doesNotThrow(() => writer.write(Buffer.from('after close'), writer.queued()));

  // The next connections take the lowest free descriptors, the closed socket's among them.
  let reused: Pair | undefined;
  for (let i = 0; i < 5 && !reused; i++) {
    const next = await pair(listener);
    open.push(next.server, next.client);
    if ((next.server as unknown as { _handle: { fd: number } })._handle.fd === fd) reused = next;
  }
  assert.ok(reused, `a new connection got descriptor ${fd} again`);
  assert.doesNotThrow(() => writer.write(Buffer.from('stray'), writer.queued()));
  await settle();
  assert.equal(reused.received().length, 0, 'the new connection got nothing of the old subscriber');
  assert.equal(first.received().toString(), 'one');
  assert.deepEqual(errors, []);
});
