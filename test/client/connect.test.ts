// `wstcp connect` as a real process: stdin/stdout through wstcp-the-server to loopback targets, the exit
// codes of every way a session can end, and what stderr says about it.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { WebSocketServer } from 'ws';
import { ExitCode } from '../../src/client/errors.js';
import { startBridge, startEcho, startTcpServer, waitFor } from '../helpers/bridge.js';
import { connectOnce, runClient } from '../helpers/client.js';
import { spawnWstcp } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A target that hashes what it receives until EOF. */
async function startSink(t: import('node:test').TestContext) {
  const received: Promise<{ hash: string; length: number }>[] = [];
  const sink = await startTcpServer((socket: Socket) => {
    received.push(
      new Promise((resolve) => {
        const hash = createHash('sha256');
        let length = 0;
        socket.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          length += chunk.length;
        });
        socket.on('end', () => {
          resolve({ hash: hash.digest('hex'), length });
          socket.end();
        });
      }),
    );
  });
  t.after(() => sink.close());
  return { sink, received };
}

test('data crosses both ways bit for bit; stdin EOF after the echo ends the session with exit 0', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${echo.port}`]);
  t.after(() => bridge.close());
  const data = randomBytes(8 * 1024 * 1024);
  const run = runClient(t, ['connect', bridge.url]);
  run.child.stdin!.write(data);
  await waitFor(() => run.stdout().length >= data.length, 20000, 'the echo');
  run.child.stdin!.end();
  assert.equal(await run.exited, ExitCode.OK);
  assert.equal(sha256(run.stdout()), sha256(data));
  assert.equal(run.stderr(), '', 'a clean session prints nothing');
});

// Bug guarded against: closing the WebSocket as soon as stdin ends, before the bytes read just before the
// EOF were sent, loses the end of the data.
test('stdin EOF: every byte reaches the target before the close', async (t) => {
  const { sink, received } = await startSink(t);
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${sink.port}`]);
  t.after(() => bridge.close());
  const data = randomBytes(16 * 1024 * 1024 + 7);
  const result = await connectOnce(t, [bridge.url], data);
  assert.equal(result.code, ExitCode.OK, result.stderr);
  await waitFor(() => received.length === 1, 5000, 'the target connection');
  assert.deepEqual(await received[0], { hash: sha256(data), length: data.length });
});

// Bug guarded against: exiting on the server's close frame before stdout has been written loses the tail.
test('a close from the server delivers every byte on stdout, then exits 0', async (t) => {
  const data = randomBytes(16 * 1024 * 1024 + 3);
  const source = await startTcpServer((socket) => socket.end(data));
  t.after(() => source.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${source.port}`]);
  t.after(() => bridge.close());
  const run = runClient(t, ['connect', bridge.url]);
  assert.equal(await run.exited, ExitCode.OK, run.stderr());
  assert.equal(run.stdout().length, data.length);
  assert.equal(sha256(run.stdout()), sha256(data));
});

test('a refused handshake (unknown token) exits 4 with the HTTP status on stderr', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const tokens = join(tempDir(t).dir, 'tokens');
  writeFileSync(tokens, `good: 127.0.0.1:${echo.port}\n`);
  const bridge = await startBridge(['--token-plugin', 'TokenFile', '--token-source', tokens, '127.0.0.1:0']);
  t.after(() => bridge.close());
  const refused = await connectOnce(t, [`${bridge.url}/?token=wrong`]);
  assert.equal(refused.code, ExitCode.REFUSED);
  assert.match(refused.stderr, /HTTP 404\b/);
  assert.equal(refused.stderr.trim().split('\n').length, 1, 'one line');
  assert.doesNotMatch(refused.stderr, /wrong/, 'the token is not printed');
  const accepted = await connectOnce(t, [`${bridge.url}/?token=good`], Buffer.from('x'));
  assert.equal(accepted.code, ExitCode.OK, accepted.stderr);
});

test('%h and %p in the URL are filled from the HOST and PORT arguments', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const tokens = join(tempDir(t).dir, 'tokens');
  writeFileSync(tokens, `box-22: 127.0.0.1:${echo.port}\n`);
  const bridge = await startBridge(['--token-plugin', 'TokenFile', '--token-source', tokens, '127.0.0.1:0']);
  t.after(() => bridge.close());
  const run = runClient(t, ['connect', `${bridge.url}/?token=%h-%p`, 'box', '22']);
  run.child.stdin!.write('ping');
  await waitFor(() => run.stdout().length >= 4, 5000, 'the echo');
  run.child.stdin!.end();
  assert.equal(await run.exited, ExitCode.OK, run.stderr());
  const missing = await connectOnce(t, [`${bridge.url}/?token=%h`]);
  assert.equal(missing.code, ExitCode.USAGE);
});

test('user:password in the URL is sent as Basic auth and never printed', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const bridge = await startBridge([
    '--auth-plugin',
    'BasicHTTPAuth',
    '--auth-source',
    'alice:pa55-w0rd',
    '127.0.0.1:0',
    `127.0.0.1:${echo.port}`,
  ]);
  t.after(() => bridge.close());
  const url = new URL(bridge.url);
  url.username = 'alice';
  url.password = 'pa55-w0rd';
  const ok = await connectOnce(t, ['-v', url.href], Buffer.from('hello'));
  assert.equal(ok.code, ExitCode.OK, ok.stderr);
  url.password = 'wrong-pa55';
  const denied = await connectOnce(t, ['-v', url.href]);
  assert.equal(denied.code, ExitCode.REFUSED);
  assert.match(denied.stderr, /HTTP 401\b/);
  for (const output of [ok.stderr, denied.stderr]) assert.doesNotMatch(output, /pa55|alice/);
});

test('--header, --origin and --subprotocol reach the server; header values are never printed', async (t) => {
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (set) => [...set][0] ?? false,
  });
  await once(server, 'listening');
  t.after(() => server.close());
  const seen = once(server, 'connection');
  const port = (server.address() as { port: number }).port;
  const run = runClient(t, [
    'connect',
    '-v',
    '--header',
    'X-Api-Key: k3y-s3cret',
    '--origin',
    'https://app.example',
    '--subprotocol',
    'v2.example',
    `ws://127.0.0.1:${port}/p`,
  ]);
  const [ws, request] = (await seen) as [import('ws').WebSocket, import('node:http').IncomingMessage];
  assert.equal(request.headers['x-api-key'], 'k3y-s3cret');
  assert.equal(request.headers.origin, 'https://app.example');
  assert.equal(ws.protocol, 'v2.example');
  ws.close(1000);
  assert.equal(await run.exited, ExitCode.OK);
  assert.doesNotMatch(run.stderr(), /k3y-s3cret/);
});

test('a server killed mid-session: the client exits 1 promptly', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const server = await spawnWstcp(['127.0.0.1:0', `127.0.0.1:${echo.port}`]);
  t.after(() => server.kill('SIGKILL'));
  const run = runClient(t, ['connect', `ws://127.0.0.1:${server.port}/`]);
  run.child.stdin!.write('alive?');
  await waitFor(() => run.stdout().length >= 6, 5000, 'the echo');
  const killedAt = Date.now();
  server.kill('SIGKILL');
  assert.equal(await run.exited, ExitCode.SESSION_FAILED);
  assert.ok(Date.now() - killedAt < 2000, `exited after ${Date.now() - killedAt} ms`);
  assert.match(run.stderr(), /1006|lost/);
});

test('the server closing with an error code exits 1 and prints the code and reason', async (t) => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  t.after(() => server.close());
  server.on('connection', (ws) => ws.close(4001, 'session revoked'));
  const result = await connectOnce(t, [`ws://127.0.0.1:${(server.address() as { port: number }).port}/`]);
  assert.equal(result.code, ExitCode.SESSION_FAILED);
  assert.match(result.stderr, /4001 session revoked/);
});

test('--heartbeat: a server that stops answering pings ends the session with exit 5; a live one does not', async (t) => {
  const silent = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: false });
  await once(silent, 'listening');
  t.after(() => silent.close());
  const dead = runClient(t, [
    'connect',
    '--heartbeat',
    '0.5',
    `ws://127.0.0.1:${(silent.address() as { port: number }).port}/`,
  ]);
  const startedAt = Date.now();
  assert.equal(await dead.exited, ExitCode.HEARTBEAT);
  // Start-up, the handshake and two silent intervals; a client that never gives up runs into the test's limit.
  assert.ok(Date.now() - startedAt < 6000);

  const echo = await startEcho();
  t.after(() => echo.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${echo.port}`]);
  t.after(() => bridge.close());
  const alive = runClient(t, ['connect', '--heartbeat', '0.5', bridge.url]);
  await new Promise((resolve) => setTimeout(resolve, 2500));
  assert.equal(alive.child.exitCode, null, 'still running after 5 intervals');
  alive.child.stdin!.end();
  assert.equal(await alive.exited, ExitCode.OK);
});

test('--connect-timeout: a server that accepts but never answers exits 3 on time', async (t) => {
  const mute = await startTcpServer(() => {});
  t.after(() => mute.close());
  const startedAt = Date.now();
  const result = await connectOnce(t, ['--connect-timeout', '0.5', `ws://127.0.0.1:${mute.port}/`]);
  assert.equal(result.code, ExitCode.UNREACHABLE);
  assert.ok(Date.now() - startedAt < 5000);
});

test('usage errors exit 2; an unreachable server exits 3', async (t) => {
  assert.equal((await connectOnce(t, ['ftp://127.0.0.1/'])).code, ExitCode.USAGE);
  assert.equal((await connectOnce(t, ['--header', 'no colon', 'ws://127.0.0.1:1/'])).code, ExitCode.USAGE);
  assert.equal(
    (await connectOnce(t, ['--ca', '/nonexistent/ca.pem', 'wss://127.0.0.1:1/'])).code,
    ExitCode.USAGE,
  );
  const refused = await startTcpServer(() => {});
  const port = refused.port;
  await refused.close();
  assert.equal((await connectOnce(t, [`ws://127.0.0.1:${port}/`])).code, ExitCode.UNREACHABLE);
});

// Bug guarded against: ssh sends SIGHUP to its ProxyCommand when it exits; dying on it dropped the WebSocket
// without a close frame (the server saw 1006) and lost whatever was still queued towards the server.
test('SIGHUP or SIGTERM ends the session with a close frame (1001) and exit 0', async (t) => {
  const { sink, received } = await startSink(t);
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${sink.port}`]);
  t.after(() => bridge.close());
  for (const signal of ['SIGHUP', 'SIGTERM'] as const) {
    const run = runClient(t, ['connect', bridge.url]);
    run.child.stdin!.write('queued before the signal');
    await waitFor(() => received.length > 0 && bridge.bridge.sessions.size === 1, 5000, 'the session');
    run.child.kill(signal);
    assert.equal(await run.exited, ExitCode.OK, run.stderr());
    await waitFor(() => bridge.bridge.sessions.size === 0, 5000, 'the session to close');
    const close = bridge.logs.filter((line) => line.includes('session.close')).pop() ?? '';
    assert.match(close, /code=1001/);
    assert.match(close, /closed_by=client/);
    received.length = 0;
  }
});
