// Pools with --ssl-target (issue 16): members are reached over TLS, so a member that accepts TCP but
// cannot complete a verified TLS handshake is failed over like a refusing one, and the active probe
// (a TLS handshake, not a bare connect) keeps it marked down.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type TestContext, test } from 'node:test';
import { createServer, type TLSSocket } from 'node:tls';
import { openClient, receive, startBridge, startTcpServer, waitFor } from '../helpers/bridge.js';
import { makeCa } from '../helpers/pki.js';
import { logEvents } from '../helpers/pool-members.js';
import { tempDir } from '../helpers/tmp.js';

const ca = makeCa('pool target CA');

async function tlsEcho(t: TestContext): Promise<number> {
  const issued = ca.server(['127.0.0.1'], '127.0.0.1');
  const server = createServer({ cert: issued.cert, key: issued.key }, (socket: TLSSocket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

test('with --ssl-target a member that cannot complete TLS is skipped, and the TLS probe marks it down', async (t) => {
  const tlsPort = await tlsEcho(t);
  // Accepts TCP, answers the ClientHello with garbage: connected, but useless to a TLS session.
  const plain = await startTcpServer((socket) => socket.end('not TLS\n'));
  t.after(() => plain.close());
  const files = tempDir(t);
  const running = await startBridge([
    '--ssl-target',
    '--target-ca',
    files.write('ca.pem', ca.cert),
    '--balance',
    'first',
    '--max-fails',
    '0',
    '--health-interval',
    '0.2',
    '--log-format',
    'json',
    '127.0.0.1:0',
    `127.0.0.1:${plain.port},127.0.0.1:${tlsPort}`,
  ]);
  t.after(() => running.close());
  const ws = await openClient(running.url);
  ws.send(Buffer.from('over tls'));
  assert.equal((await receive(ws, 8)).toString(), 'over tls');
  ws.terminate();
  await waitFor(
    () => logEvents(running.logs, 'pool.member_down').some((l) => l.cause === 'health'),
    3000,
    'the TLS probe to mark the plain member down',
  );
  assert.equal(logEvents(running.logs, 'pool.member_down')[0]?.member, `127.0.0.1:${plain.port}`);
  assert.equal(running.bridge.poolMembers().find((m) => m.member.endsWith(`:${tlsPort}`))?.up, true);
});
