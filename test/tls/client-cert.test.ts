// --verify-client with --cafile: a client certificate from the CA is required (and implies --ssl-only);
// websockify's ClientCertCNAuth then narrows the accepted certificates to listed common names.
import assert from 'node:assert/strict';
import { after, type TestContext, test } from 'node:test';
import {
  expectRefusal,
  openClient,
  type RunningBridge,
  receive,
  startBridge,
  startEcho,
} from '../helpers/bridge.js';
import { makeCa } from '../helpers/pki.js';
import { assertNoSecrets } from '../helpers/secrets.js';
import { tempDir } from '../helpers/tmp.js';

const ca = makeCa('client test CA');
const server = ca.server();
const alice = ca.client('alice');
const bob = ca.client('bob');
const stranger = makeCa('other CA').client('alice');
const logs: string[][] = [];
after(() => assertNoSecrets(logs.flat()));

async function bridge(
  t: TestContext,
  extra: string[] = [],
  cafile = true,
): Promise<RunningBridge & { targetConnections: () => number }> {
  const files = tempDir(t);
  const echo = await startEcho();
  t.after(() => echo.close());
  const args = [
    '--cert',
    files.write('cert.pem', server.cert),
    '--key',
    files.write('key.pem', server.key),
    '--verify-client',
  ];
  if (cafile) args.push('--cafile', files.write('ca.pem', ca.cert));
  const running = await startBridge([...args, ...extra, '127.0.0.1:0', `127.0.0.1:${echo.port}`], {
    secure: true,
  });
  logs.push(running.logs);
  t.after(() => running.close());
  return Object.assign(running, { targetConnections: () => echo.sockets.length });
}

test('a client certificate signed by --cafile is accepted', async (t) => {
  const running = await bridge(t);
  const ws = await openClient(running.url, undefined, { ca: ca.cert, cert: alice.cert, key: alice.key });
  ws.send(Buffer.from('ping'));
  assert.equal((await receive(ws, 4)).toString(), 'ping');
  ws.terminate();
});

test('no client certificate, or one from another CA, fails the TLS handshake and is logged', async (t) => {
  const running = await bridge(t);
  await assert.rejects(openClient(running.url, undefined, { ca: ca.cert }));
  await assert.rejects(
    openClient(running.url, undefined, { ca: ca.cert, cert: stranger.cert, key: stranger.key }),
  );
  assert.ok(running.logs.some((l) => l.includes('tls.refused')));
  assert.equal(running.targetConnections(), 0, 'a refused client never reaches the target');
  assert.ok(!running.logs.some((l) => l.includes('session.open')));
});

test('--verify-client implies --ssl-only: plain ws:// is refused with 403', async (t) => {
  const running = await bridge(t);
  const refusal = await expectRefusal(running.url.replace('wss:', 'ws:'));
  assert.equal(refusal.status, 403);
});

test('--verify-client without --cafile verifies against the system CAs (a private CA is refused)', async (t) => {
  const running = await bridge(t, [], false);
  await assert.rejects(openClient(running.url, undefined, { ca: ca.cert, cert: alice.cert, key: alice.key }));
});

test('ClientCertCNAuth accepts listed common names and answers 403 to the others', async (t) => {
  const running = await bridge(t, ['--auth-plugin', 'ClientCertCNAuth', '--auth-source', 'alice carol']);
  const ws = await openClient(running.url, undefined, { ca: ca.cert, cert: alice.cert, key: alice.key });
  ws.terminate();
  const refusal = await expectRefusal(running.url, { ca: ca.cert, cert: bob.cert, key: bob.key });
  assert.equal(refusal.status, 403);
  assert.ok(running.logs.some((l) => l.includes('code=WSTCP_FORBIDDEN')));
});

test('ClientCertCNAuth without --verify-client is a configuration error', async (t) => {
  const files = tempDir(t);
  await assert.rejects(
    startBridge([
      '--cert',
      files.write('both.pem', server.cert + server.key),
      '--auth-plugin',
      'websockify.auth_plugins.ClientCertCNAuth',
      '--auth-source',
      'alice',
      '127.0.0.1:0',
      '127.0.0.1:9',
    ]),
    (err: Error & { code?: string }) =>
      err.code === 'WSTCP_CONFIG' && err.message.includes('--verify-client'),
  );
});
