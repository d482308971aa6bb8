// The viewer's probe (src/admission/probe.ts): a same-origin POST with X-Wstcp-Probe runs the handshake's
// admission without relaying anything, and answers with the refusal a handshake would get, or 204.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { startBridge, startTcpServer, waitFor } from '../helpers/bridge.js';

function probe(port: number, headers: Record<string, string> = {}, method = 'POST') {
  return new Promise<{ status: number; code: string | undefined; body: string }>((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      method,
      path: '/websockify',
      headers: { 'X-Wstcp-Probe': '1', ...headers },
    });
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      res.once('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          code: res.headers['x-wstcp-error'] as string | undefined,
          body,
        }),
      );
    });
    req.once('error', reject);
    req.end();
  });
}

// A probe that would be admitted opens the target (to tell "VNC server down" from the rest) and closes it.
test('a probe for a live target answers 204 and closes the target connection at once', async (t) => {
  let accepted = 0;
  let ended = 0;
  const target = await startTcpServer((socket) => {
    accepted++;
    socket.on('end', () => ended++);
    socket.resume();
  });
  t.after(() => target.close());
  const bridge = await startBridge(['--novnc', '127.0.0.1:0', `127.0.0.1:${target.port}`]);
  t.after(() => bridge.close());
  assert.equal((await probe(bridge.port)).status, 204);
  await waitFor(() => accepted === 1 && ended === 1, 5000, 'the bridge to close its target connection');
  assert.equal(bridge.bridge.sessions.size, 0);
});

// The probe must not be a way around the gates: it runs the same auth as the handshake.
test('a probe runs the same gates: no credentials, 401 with the code', async (t) => {
  const target = await startTcpServer((socket) => socket.resume());
  t.after(() => target.close());
  const bridge = await startBridge([
    '--novnc',
    '--basic-auth',
    'u:p',
    '127.0.0.1:0',
    `127.0.0.1:${target.port}`,
  ]);
  t.after(() => bridge.close());
  const refused = await probe(bridge.port);
  assert.equal(refused.status, 401);
  assert.equal(refused.code, 'WSTCP_UNAUTHORIZED');
  const allowed = await probe(bridge.port, {
    Authorization: `Basic ${Buffer.from('u:p').toString('base64')}`,
  });
  assert.equal(allowed.status, 204);
});

test('only POST with the header is a probe: a GET with it is served as a page request', async (t) => {
  const bridge = await startBridge(['--novnc', '127.0.0.1:0', '127.0.0.1:1']);
  t.after(() => bridge.close());
  assert.equal((await probe(bridge.port, {}, 'GET')).status, 404);
  const refused = await probe(bridge.port);
  assert.equal(refused.status, 502);
  assert.equal(refused.code, 'WSTCP_TARGET_UNREACHABLE');
});
