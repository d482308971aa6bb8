// IPv6 and dual stack, where websockify falls short: it listens IPv4-only by default and connects only to the
// first address a target name resolves to. wstcp listens on both families without a host, accepts [v6]
// literals for the listen and target addresses, and tries every resolved address in turn.
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';
import { test } from 'node:test';
import type { Session } from '../../src/relay/session.js';
import { closed, openClient, receive, startBridge, startEcho } from '../helpers/bridge.js';

/** Sends a few bytes through `url`, checks they come back, and closes with 1000. */
async function roundTrip(url: string): Promise<void> {
  const ws = await openClient(url);
  const payload = Buffer.from(`through ${url}`);
  ws.send(payload);
  assert.deepEqual(await receive(ws, payload.length), payload);
  ws.close(1000);
  assert.equal((await closed(ws)).code, 1000);
}

/** Resolves with the error code of a plain TCP connect to host:port (undefined when it connects). */
function connectError(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code));
  });
}

test('with no listen host the bridge accepts 127.0.0.1 and ::1 (dual stack)', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const bridge = await startBridge(['0', `127.0.0.1:${echo.port}`]);
  t.after(() => bridge.close());
  const clients: string[] = [];
  bridge.bridge.on('session-open', (session: Session) => clients.push(session.client));

  await roundTrip(`ws://127.0.0.1:${bridge.port}`);
  await roundTrip(`ws://[::1]:${bridge.port}`);
  // An IPv4 client on the dual-stack socket is reported by its IPv4 address, not as ::ffff:127.0.0.1.
  assert.match(clients[0] ?? '', /^127\.0\.0\.1:\d+$/);
  assert.match(clients[1] ?? '', /^\[::1\]:\d+$/);
});

test('[::1]:0 listens on IPv6 loopback only', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const bridge = await startBridge(['[::1]:0', `127.0.0.1:${echo.port}`]);
  t.after(() => bridge.close());

  assert.equal(bridge.url, `ws://[::1]:${bridge.port}`);
  await roundTrip(bridge.url);
  assert.equal(await connectError('127.0.0.1', bridge.port), 'ECONNREFUSED');
});

test('a [::1]:port target is reached over IPv6', async (t) => {
  const echo = await startEcho('::1');
  t.after(() => echo.close());
  const bridge = await startBridge(['127.0.0.1:0', `[::1]:${echo.port}`]);
  t.after(() => bridge.close());

  await roundTrip(bridge.url);
  assert.equal(echo.sockets[0]?.remoteAddress, '::1');
});

test('a target name resolving to ::1 and 127.0.0.1 falls back to the address that listens', async (t) => {
  const found = await lookup('localhost', { all: true });
  const families = new Set(found.map((a) => a.family));
  if (!families.has(4) || !families.has(6)) {
    t.skip(
      `localhost resolves to ${found.map((a) => a.address).join(', ')} here, not to both ::1 and 127.0.0.1`,
    );
    return;
  }
  const echo = await startEcho('127.0.0.1');
  t.after(() => echo.close());
  assert.equal(await connectError('::1', echo.port), 'ECONNREFUSED', 'the port must be free on ::1');
  // -6 puts ::1 first, so the first attempt is refused and the bridge must go on to 127.0.0.1.
  const bridge = await startBridge(['-6', '127.0.0.1:0', `localhost:${echo.port}`]);
  t.after(() => bridge.close());

  await roundTrip(bridge.url);
  assert.equal(echo.sockets[0]?.remoteAddress, '127.0.0.1');
});
