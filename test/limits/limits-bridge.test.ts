// Limits through a real bridge: connection caps (total and per address, with a second loopback address
// still served), the handshake timeout against slowloris, header size (431) and message size (1009).
// Every refusal has its status or close code and a log line, and never disturbs a live session.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, type TestContext, test } from 'node:test';
import type WebSocket from 'ws';
import {
  closed,
  expectRefusal,
  openClient,
  type RunningBridge,
  receive,
  startBridge,
  startEcho,
  waitFor,
} from '../helpers/bridge.js';
import { assertNoSecrets } from '../helpers/secrets.js';

const logs: string[][] = [];
after(() => assertNoSecrets(logs.flat()));

async function bridge(t: TestContext, args: string[]): Promise<RunningBridge> {
  const echo = await startEcho();
  t.after(() => echo.close());
  const running = await startBridge([...args, '127.0.0.1:0', `127.0.0.1:${echo.port}`]);
  logs.push(running.logs);
  t.after(() => running.close());
  return running;
}

async function echoes(ws: WebSocket, text: string): Promise<void> {
  ws.send(Buffer.from(text));
  assert.equal((await receive(ws, text.length)).toString(), text);
}

/** A raw TCP client that collects what the server sends and reports when the server closes. */
async function rawClient(
  port: number,
): Promise<{ socket: Socket; received: () => string; ended: Promise<number> }> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  socket.on('error', () => {});
  const started = Date.now();
  const ended = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
  return { socket, received: () => text, ended };
}

test('--max-connections: 503 beyond the limit, a slot frees when a session ends', async (t) => {
  const running = await bridge(t, ['--max-connections', '2']);
  const a = await openClient(running.url);
  const b = await openClient(running.url);
  const refusal = await expectRefusal(running.url);
  assert.equal(refusal.status, 503);
  assert.ok(running.logs.some((l) => l.includes('code=WSTCP_TOO_MANY_CONNECTIONS')));
  await echoes(a, 'a still works');
  b.close();
  await closed(b);
  await waitFor(() => running.bridge.sessions.size === 1, 5000, 'the session to end');
  const c = await openClient(running.url);
  await echoes(c, 'c got the slot');
  a.terminate();
  c.terminate();
});

test('--max-connections-per-ip: a flood from one address is capped while another address connects', async (t) => {
  const running = await bridge(t, ['--max-connections-per-ip', '3']);
  const outcomes = await Promise.allSettled(Array.from({ length: 12 }, () => openClient(running.url)));
  const open = outcomes
    .filter((o) => o.status === 'fulfilled')
    .map((o) => (o as PromiseFulfilledResult<WebSocket>).value);
  assert.equal(open.length, 3);
  for (const outcome of outcomes) {
    if (outcome.status === 'rejected') assert.match(String(outcome.reason), /unexpected HTTP 429/);
  }
  assert.ok(running.logs.some((l) => l.includes('code=WSTCP_TOO_MANY_FROM_ADDRESS')));

  const neighbour = await openClient(running.url, undefined, { localAddress: '127.0.0.2' });
  await echoes(neighbour, 'another address is served');
  await echoes(open[0]!, 'the capped client keeps its sessions');
  const refusal = await expectRefusal(running.url);
  assert.equal(refusal.status, 429);
  assert.equal(refusal.headers['retry-after'], '10');

  open[0]!.terminate();
  await waitFor(() => running.bridge.sessions.size === 3, 5000, 'the session to end');
  const again = await openClient(running.url);
  again.terminate();
  for (const ws of [...open, neighbour]) ws.terminate();
});

test('a slowloris client dripping its headers is cut off at the handshake timeout with 408', async (t) => {
  const running = await bridge(t, ['--handshake-timeout', '0.6']);
  const session = await openClient(running.url);
  const slow = await rawClient(running.port);
  slow.socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n');
  const drip = setInterval(() => slow.socket.writable && slow.socket.write('X-Drip: 1\r\n'), 100);
  t.after(() => clearInterval(drip));
  const elapsed = await slow.ended;
  clearInterval(drip);
  assert.ok(elapsed >= 500 && elapsed < 3000, `closed after ${elapsed} ms`);
  assert.match(slow.received(), /^HTTP\/1\.1 408 /);
  assert.ok(running.logs.some((l) => l.includes('handshake.timeout')));
  await echoes(session, 'a session outlives the handshake timeout');
  session.terminate();
});

test('a connection that sends nothing, plain or before a TLS hello, is closed at the timeout', async (t) => {
  const plain = await bridge(t, ['--handshake-timeout', '0.5']);
  const silent = await rawClient(plain.port);
  const elapsed = await silent.ended;
  assert.ok(elapsed >= 400 && elapsed < 3000, `closed after ${elapsed} ms`);

  const tls = await bridge(t, ['--cert', 'auto', '--handshake-timeout', '0.5']);
  const half = await rawClient(tls.port);
  // A TLS record header promising a ClientHello that never comes.
  half.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
  const tlsElapsed = await half.ended;
  assert.ok(tlsElapsed >= 400 && tlsElapsed < 3000, `TLS closed after ${tlsElapsed} ms`);
});

test('request headers above --max-header-size get 431', async (t) => {
  const running = await bridge(t, ['--max-header-size', '2']);
  const refusal = await expectRefusal(running.url, { headers: { 'X-Padding': 'p'.repeat(4096) } });
  assert.equal(refusal.status, 431);
  assert.ok(running.logs.some((l) => l.includes('code=WSTCP_HEADERS_TOO_LARGE')));
  const ws = await openClient(running.url, undefined, { headers: { 'X-Padding': 'p'.repeat(512) } });
  ws.terminate();
});

test('a message above --max-message-size closes that session with 1009, others continue', async (t) => {
  const running = await bridge(t, ['--max-message-size', String(4096 / (1024 * 1024))]);
  const bystander = await openClient(running.url);
  const ws = await openClient(running.url);
  await echoes(ws, 'x'.repeat(4000));
  ws.send(Buffer.alloc(5000, 1));
  assert.equal((await closed(ws)).code, 1009);
  await echoes(bystander, 'unaffected');
  bystander.terminate();
  await waitFor(
    () => running.logs.some((l) => l.includes('session.close') && l.includes('1009')),
    3000,
    'the close log line',
  );
});
