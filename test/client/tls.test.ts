// wss:// from the client side: the server's certificate verified against --ca (refused without it, let
// through with --insecure and a warning), a client certificate for servers with --verify-client, and the
// server name (SNI) taken from the URL.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { ExitCode } from '../../src/client/errors.js';
import { startBridge, startEcho } from '../helpers/bridge.js';
import { connectOnce } from '../helpers/client.js';
import { makeCa } from '../helpers/pki.js';
import { tempDir } from '../helpers/tmp.js';

const ca = makeCa();
const server = ca.server();

async function wssBridge(t: TestContext, extra: string[] = []) {
  const files = tempDir(t);
  const echo = await startEcho();
  t.after(() => echo.close());
  const bridge = await startBridge(
    [
      '--cert',
      files.write('cert.pem', server.cert),
      '--key',
      files.write('key.pem', server.key),
      ...extra.map((arg) => (arg === 'CA_FILE' ? files.write('ca.pem', ca.cert) : arg)),
      '127.0.0.1:0',
      `127.0.0.1:${echo.port}`,
    ],
    { secure: true },
  );
  t.after(() => bridge.close());
  return { bridge, files };
}

test("the server's certificate is verified: --ca trusts it, none refuses it (exit 3), --insecure warns", async (t) => {
  const { bridge, files } = await wssBridge(t);
  const caFile = files.write('trusted-ca.pem', ca.cert);
  const trusted = await connectOnce(t, ['--ca', caFile, `wss://localhost:${bridge.port}/`], Buffer.from('x'));
  assert.equal(trusted.code, ExitCode.OK, trusted.stderr);
  assert.equal(trusted.stderr, '');
  const untrusted = await connectOnce(t, [`wss://localhost:${bridge.port}/`]);
  assert.equal(untrusted.code, ExitCode.UNREACHABLE);
  assert.match(untrusted.stderr, /TLS/);
  const insecure = await connectOnce(t, ['--insecure', `wss://localhost:${bridge.port}/`], Buffer.from('x'));
  assert.equal(insecure.code, ExitCode.OK, insecure.stderr);
  assert.match(insecure.stderr, /warning: --insecure/);
});

test('--client-cert and --client-key satisfy a server with --verify-client', async (t) => {
  const { bridge, files } = await wssBridge(t, ['--verify-client', '--cafile', 'CA_FILE']);
  const caFile = files.write('trusted-ca.pem', ca.cert);
  const client = ca.client('laptop');
  const url = `wss://localhost:${bridge.port}/`;
  const without = await connectOnce(t, ['--ca', caFile, url]);
  assert.equal(without.code, ExitCode.UNREACHABLE, without.stderr);
  assert.match(without.stderr, /TLS/);
  const withCert = await connectOnce(
    t,
    [
      '--ca',
      caFile,
      '--client-cert',
      files.write('client.pem', client.cert),
      '--client-key',
      files.write('client-key.pem', client.key),
      url,
    ],
    Buffer.from('x'),
  );
  assert.equal(withCert.code, ExitCode.OK, withCert.stderr);
});

test('the TLS server name is the URL host; an IP address sends none', async (t) => {
  const names: (string | false | null)[] = [];
  const https = createServer({ cert: server.cert, key: server.key });
  https.on('secureConnection', (socket: import('node:tls').TLSSocket) => names.push(socket.servername));
  const wss = new WebSocketServer({ server: https });
  wss.on('connection', (ws) => ws.close(1000));
  https.listen(0, '127.0.0.1');
  await once(https, 'listening');
  t.after(() => {
    wss.close();
    https.close();
  });
  const { port } = https.address() as AddressInfo;
  const files = tempDir(t);
  const caFile = files.write('ca.pem', ca.cert);
  assert.equal((await connectOnce(t, ['--ca', caFile, `wss://localhost:${port}/`])).code, ExitCode.OK);
  assert.equal((await connectOnce(t, ['--ca', caFile, `wss://127.0.0.1:${port}/`])).code, ExitCode.OK);
  assert.deepEqual(names, ['localhost', false]);
});
