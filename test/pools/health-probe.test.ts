// The active health probe (issue 16): a plain connect, or with --ssl-target a full TLS handshake, so a
// member that accepts TCP but cannot speak TLS with a valid certificate counts as down. Real servers.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import { socketProbe } from '../../src/targets/pool/health-probe.js';
import { startTcpServer, waitFor } from '../helpers/bridge.js';
import { makeCa } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';

const never = new AbortController().signal;
const at = (port: number) => ({ kind: 'tcp' as const, host: '127.0.0.1', port });

test('a plain probe: up when the member accepts, down when it refuses or does not answer in time', async (t) => {
  const server = await startTcpServer(() => {});
  t.after(() => server.close());
  const probe = socketProbe(undefined);
  assert.equal(await probe(at(server.port), 1000, never), true);
  assert.equal(await probe(at(await freePort()), 1000, never), false);
  await waitFor(() => server.sockets.length === 1, 2000, 'the member to see the probe');
});

test('a TLS probe needs a completed handshake with a certificate the bridge trusts', async (t) => {
  const ca = makeCa();
  const issued = ca.server(['127.0.0.1']);
  const tlsServer = createTlsServer({ cert: issued.cert, key: issued.key }, (socket) => socket.end());
  tlsServer.listen(0, '127.0.0.1');
  await once(tlsServer, 'listening');
  t.after(() => new Promise<void>((resolve) => tlsServer.close(() => resolve())));
  const plain = await startTcpServer(() => {});
  t.after(() => plain.close());
  const tlsPort = (tlsServer.address() as AddressInfo).port;
  assert.equal(await socketProbe({ ca: ca.cert })(at(tlsPort), 1000, never), true);
  assert.equal(await socketProbe({})(at(tlsPort), 1000, never), false, 'an untrusted certificate');
  const started = Date.now();
  assert.equal(await socketProbe({ ca: ca.cert })(at(plain.port), 300, never), false, 'TCP without TLS');
  assert.ok(Date.now() - started < 1000);
});
