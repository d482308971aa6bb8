// Connections the bridge must let go of: an upgrade request followed at once by the client's FIN (what
// `printf 'GET / ...' | nc` sends), every refused handshake whose client never closes, and a client that
// goes away while the bridge has paused reading from it. Each used to hold its descriptors (and, but for
// the refusals, a session and a target connection) for as long as the process ran.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { openClient, startBridge, startEcho, startTcpServer, waitFor } from '../helpers/bridge.js';
import { openFds } from '../helpers/fds.js';
import { clientFrame, rawClient } from '../helpers/frames.js';
import { freePort } from '../helpers/ports.js';
import { spawnWstcp } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';

function upgradeRequest(path = '/', key = randomBytes(16).toString('base64'), extra = ''): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}

/**
 * Sends `request` and reads the whole HTTP answer (status 0: closed without one); the socket stays open
 * (no FIN) unless `fin`.
 */
async function ask(port: number, request: string, fin = false): Promise<{ status: number; socket: Socket }> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('error', () => {});
  await once(socket, 'connect');
  if (fin) socket.end(request);
  else socket.write(request);
  let answer = Buffer.alloc(0);
  for (;;) {
    const end = answer.indexOf('\r\n\r\n');
    if (end >= 0) {
      const head = answer.subarray(0, end).toString('latin1');
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (answer.length >= end + 4 + length) {
        return { status: Number(head.split(' ')[1]), socket };
      }
    }
    const chunk = await new Promise<Buffer | undefined>((resolve) => {
      socket.once('data', resolve);
      socket.once('close', () => resolve(undefined));
    });
    if (chunk === undefined) return { status: 0, socket };
    answer = Buffer.concat([answer, chunk]);
  }
}

async function echoBridge(t: TestContext, extra: string[] = []) {
  const echo = await startEcho();
  t.after(() => echo.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${echo.port}`, ...extra]);
  t.after(() => bridge.close());
  return { echo, bridge };
}

for (const deflate of [false, true]) {
  const how = deflate ? ' (--permessage-deflate)' : '';
  test(`an upgrade followed at once by FIN ends its session and its target connection${how}`, async (t) => {
    const { echo, bridge } = await echoBridge(t, deflate ? ['--permessage-deflate'] : []);
    const extra = deflate ? 'Sec-WebSocket-Extensions: permessage-deflate\r\n' : '';
    const clients = await Promise.all(
      Array.from({ length: 20 }, () => ask(bridge.port, upgradeRequest('/', undefined, extra), true)),
    );
    for (const { socket } of clients) t.after(() => socket.destroy());
    const accepted = clients.filter((c) => c.status === 101).length;
    // `ws` (compression) refuses a client that has sent FIN already; wstcp's own framing accepts it.
    if (!deflate) assert.equal(accepted, 20);
    await waitFor(() => bridge.bridge.sessions.size === 0, 3000, 'the sessions to end');
    await waitFor(() => echo.sockets.every((s) => s.closed), 3000, 'the target connections to close');
    assert.equal(echo.sockets.length, 20, 'each request reached the target');
    const closes = bridge.logs.filter((l) => l.includes('session.close'));
    assert.equal(closes.length, accepted, 'each session logged its close');
    await waitFor(() => clients.every((c) => c.socket.closed), 3000, 'the bridge to close each connection');
  });
}

test('upgrades followed by FIN do not hold --max-connections slots', async (t) => {
  const { bridge } = await echoBridge(t, ['--max-connections', '5']);
  for (let i = 0; i < 5; i++) {
    const { status, socket } = await ask(bridge.port, upgradeRequest(), true);
    t.after(() => socket.destroy());
    assert.equal(status, 101);
  }
  await waitFor(() => bridge.bridge.sessions.size === 0, 3000, 'the sessions to end');
  const ws = await openClient(bridge.url);
  ws.close();
});

const CLIENTS_PER_REFUSAL = 10;

test('refused handshakes do not keep their connections when the client never closes', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const closedPort = await freePort();
  const tokens = join(tempDir(t).dir, 'tokens');
  writeFileSync(tokens, `echo: 127.0.0.1:${echo.port}\ndead: 127.0.0.1:${closedPort}\n`);
  const wstcp = await spawnWstcp([
    '127.0.0.1:0',
    '--token-plugin',
    'TokenFile',
    '--token-source',
    tokens,
    '--max-header-size',
    '1',
  ]);
  t.after(() => wstcp.kill('SIGKILL'));
  const pid = wstcp.child.pid!;
  const refusals: [string, number, string][] = [
    ['bad key', 400, upgradeRequest('/t/echo', 'short')],
    ['unknown token', 404, upgradeRequest('/t/nope')],
    ['unreachable target', 502, upgradeRequest('/t/dead')],
    ['malformed request', 400, 'GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n'],
    ['headers too large', 431, upgradeRequest('/t/echo', undefined, `X-Pad: ${'a'.repeat(4096)}\r\n`)],
  ];
  const baseline = openFds(pid);
  const answers = await Promise.all(
    refusals.flatMap(([what, status, request]) =>
      Array.from({ length: CLIENTS_PER_REFUSAL }, async () => {
        const answer = await ask(wstcp.port, request);
        t.after(() => answer.socket.destroy());
        assert.equal(answer.status, status, what);
        return answer;
      }),
    ),
  );
  assert.equal(answers.length, refusals.length * CLIENTS_PER_REFUSAL);
  // The clients stay connected and silent: the bridge must let go of them by itself.
  await waitFor(() => openFds(pid) <= baseline, 3000, 'the bridge to release the refused connections');
});

test('SIGTERM exits promptly while refused clients stay connected', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const wstcp = await spawnWstcp(['127.0.0.1:0', `127.0.0.1:${echo.port}`]);
  t.after(() => wstcp.kill('SIGKILL'));
  const { status, socket } = await ask(wstcp.port, upgradeRequest('/', 'short'));
  t.after(() => socket.destroy());
  assert.equal(status, 400);
  const started = Date.now();
  wstcp.kill('SIGTERM');
  const exit = await Promise.race([
    wstcp.exited,
    new Promise((resolve) => setTimeout(resolve, 5000, 'still running')),
  ]);
  assert.equal(exit, 0);
  assert.ok(Date.now() - started < 5000);
});

/**
 * A session whose target has stopped reading, its client flooding: the bridge pauses reading from the
 * client. Then the client goes away (`how`): the bridge must notice although it does not read.
 */
async function vanishWhilePaused(t: TestContext, how: 'fin' | 'reset', deflate: boolean): Promise<void> {
  const target = await startTcpServer((socket) => socket.pause());
  t.after(() => target.close());
  const extra = deflate ? ['--permessage-deflate'] : [];
  const bridge = await startBridge([
    '127.0.0.1:0',
    `127.0.0.1:${target.port}`,
    '--max-buffer',
    '1',
    ...extra,
  ]);
  t.after(() => bridge.close());
  const { socket: client } = await rawClient(
    bridge.port,
    deflate ? 'Sec-WebSocket-Extensions: permessage-deflate\r\n' : '',
  );
  client.on('error', () => {});
  client.resume(); // nothing from the bridge stays unread: closing then sends FIN, not a reset
  t.after(() => client.destroy());
  const frame = clientFrame(0x2, Buffer.alloc(64 * 1024, 1));
  for (let i = 0; i < 512; i++) client.write(frame);
  await waitFor(
    () => [...bridge.bridge.sessions].some((s) => s.queuedToTarget > 900 * 1024),
    5000,
    'the bridge to hold --max-buffer for the target',
  );
  assert.ok(client.writableLength > 0, 'the bridge stopped reading from the client');
  if (how === 'fin') client.destroy();
  else client.resetAndDestroy();
  await waitFor(() => bridge.bridge.sessions.size === 0, 5000, 'the session to end');
  // The target reads what it was sent, then sees the connection end.
  for (const socket of target.sockets) socket.resume();
  await waitFor(
    () => target.sockets.every((s) => s.readableEnded || s.closed),
    3000,
    'the target connection to end',
  );
}

for (const deflate of [false, true]) {
  for (const how of ['fin', 'reset'] as const) {
    const path = deflate ? ' (--permessage-deflate)' : '';
    test(`a client that goes away (${how}) while its reading is paused ends its session${path}`, (t) =>
      vanishWhilePaused(t, how, deflate));
  }
}
