// --ssl-target: TLS from the bridge to a TLS echo target, verified against --target-ca or the system CAs,
// with SNI for host names; --target-insecure skips verification. Failures answer 502 before any 101.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, type TestContext, test } from 'node:test';
import { createServer, type TLSSocket } from 'node:tls';
import { expectRefusal, openClient, receive, startBridge } from '../helpers/bridge.js';
import { type Issued, makeCa } from '../helpers/pki.js';
import { assertNoSecrets } from '../helpers/secrets.js';
import { tempDir } from '../helpers/tmp.js';

const ca = makeCa('target CA');
const logs: string[][] = [];
after(() => assertNoSecrets(logs.flat()));

/** A TLS echo server on 127.0.0.1 presenting `issued`; records the SNI name of each connection. */
async function tlsEcho(t: TestContext, issued: Issued) {
  const servernames: (string | false | null)[] = [];
  const server = createServer({ cert: issued.cert, key: issued.key }, (socket: TLSSocket) => {
    servernames.push(socket.servername);
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, servernames };
}

async function bridge(t: TestContext, args: string[]) {
  const running = await startBridge(['--ssl-target', ...args]);
  logs.push(running.logs);
  t.after(() => running.close());
  return running;
}

async function roundTrip(url: string): Promise<void> {
  const ws = await openClient(url);
  ws.send(Buffer.from('tls target'));
  assert.equal((await receive(ws, 10)).toString(), 'tls target');
  ws.terminate();
}

test('a target certificate from --target-ca is verified, with SNI for a host name', async (t) => {
  const echo = await tlsEcho(t, ca.server(['localhost']));
  const files = tempDir(t);
  const running = await bridge(t, [
    '--target-ca',
    files.write('ca.pem', ca.cert),
    '127.0.0.1:0',
    `localhost:${echo.port}`,
  ]);
  await roundTrip(running.url);
  assert.deepEqual(echo.servernames, ['localhost']);
});

test('an IP address target is verified against its IP SAN and sent no SNI', async (t) => {
  const echo = await tlsEcho(t, ca.server(['127.0.0.1'], '127.0.0.1'));
  const files = tempDir(t);
  const running = await bridge(t, [
    '--target-ca',
    files.write('ca.pem', ca.cert),
    '127.0.0.1:0',
    `127.0.0.1:${echo.port}`,
  ]);
  await roundTrip(running.url);
  assert.deepEqual(echo.servernames, [false]);
});

test('an IP address target presenting a certificate for localhost only is refused with 502', async (t) => {
  const echo = await tlsEcho(t, ca.server(['localhost']));
  const files = tempDir(t);
  const running = await bridge(t, [
    '--target-ca',
    files.write('ca.pem', ca.cert),
    '127.0.0.1:0',
    `127.0.0.1:${echo.port}`,
  ]);
  assert.equal((await expectRefusal(running.url)).status, 502);
});

test('without a trusted CA the handshake is refused with 502', async (t) => {
  const echo = await tlsEcho(t, ca.server(['localhost']));
  const running = await bridge(t, ['127.0.0.1:0', `localhost:${echo.port}`]);
  const refusal = await expectRefusal(running.url);
  assert.equal(refusal.status, 502);
  assert.ok(running.logs.some((l) => l.includes('code=WSTCP_TARGET_UNREACHABLE')));
});

test('a certificate for another name is refused with 502 even from the trusted CA', async (t) => {
  const echo = await tlsEcho(t, ca.server(['other.example'], 'other.example'));
  const files = tempDir(t);
  const running = await bridge(t, [
    '--target-ca',
    files.write('ca.pem', ca.cert),
    '127.0.0.1:0',
    `localhost:${echo.port}`,
  ]);
  assert.equal((await expectRefusal(running.url)).status, 502);
});

test('--target-insecure relays to an untrusted target', async (t) => {
  const echo = await tlsEcho(t, makeCa('unknown CA').server(['other.example'], 'other.example'));
  const running = await bridge(t, ['--target-insecure', '127.0.0.1:0', `localhost:${echo.port}`]);
  await roundTrip(running.url);
});
