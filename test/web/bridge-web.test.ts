// Web pages and WebSockets share the bridge's port: files are served next to a live session, and
// malformed or hostile requests are answered (or dropped) without disturbing either.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { openClient, receive, startBridge, startEcho } from '../helpers/bridge.js';
import { fetchRaw } from '../helpers/http.js';

/** Sends raw bytes and resolves with whatever comes back before the server closes (or 2 s pass). */
async function rawExchange(port: number, bytes: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(bytes);
  let answer = '';
  socket.setEncoding('latin1').on('data', (s: string) => {
    answer += s;
  });
  await Promise.race([once(socket, 'close'), new Promise((resolve) => setTimeout(resolve, 2000))]);
  socket.destroy();
  return answer;
}

test('--web and --novnc serve pages on the WebSocket port while a session runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wstcp-web-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hello.txt'), 'hello\n');
  const echo = await startEcho();
  t.after(() => echo.close());
  const bridge = await startBridge(['--web', dir, '--novnc', '127.0.0.1:0', `127.0.0.1:${echo.port}`]);
  t.after(() => bridge.close());

  const ws = await openClient(`${bridge.url}/websockify`);
  t.after(() => ws.terminate());
  ws.send(Buffer.from('ping'));
  assert.equal((await receive(ws, 4)).toString(), 'ping');

  const page = await fetchRaw(bridge.port, '/vnc.html?token=x');
  assert.equal(page.status, 200);
  assert.match(page.body.toString(), /novnc\/viewer\.js/);
  assert.equal((await fetchRaw(bridge.port, '/hello.txt')).body.toString(), 'hello\n');
  assert.equal((await fetchRaw(bridge.port, '/hello.txt', { method: 'HEAD' })).status, 200);
  assert.equal((await fetchRaw(bridge.port, '/websockify')).status, 404);
  assert.equal((await fetchRaw(bridge.port, '/hello.txt', { method: 'POST' })).status, 405);

  for (const bytes of [
    'GET /%%%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    'GET ../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    'GET http://evil.example/hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    'GET /\x00 HTTP/1.1\r\n\r\n',
    'BREW / HTCPCP/1.0\r\n\r\n',
    `GET /${'a/'.repeat(5000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
  ]) {
    const answer = await rawExchange(bridge.port, bytes);
    assert.match(
      answer,
      /^HTTP\/1\.1 4\d\d /,
      `${JSON.stringify(bytes.slice(0, 40))} got ${answer.slice(0, 40)}`,
    );
  }

  ws.send(Buffer.from('still here'));
  assert.equal((await receive(ws, 10)).toString(), 'still here');
  assert.equal((await fetchRaw(bridge.port, '/hello.txt')).status, 200);
});

test('a --web directory that does not exist stops the bridge from starting, naming the flag', async () => {
  await assert.rejects(
    startBridge(['--web', '/nonexistent/wstcp-site', '127.0.0.1:0', '127.0.0.1:1']),
    (err: unknown) => err instanceof ConfigError && err.message.startsWith('--web:'),
  );
});
