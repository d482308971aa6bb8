// wss:// end to end: the ws client and Node's TLS client through a real bridge with certificates made in
// the test; ws:// and wss:// on one port, --ssl-only, minimum TLS versions, --cert auto, encrypted keys.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { Duplex } from 'node:stream';
import { after, test } from 'node:test';
import {
  expectRefusal,
  openClient,
  type RunningBridge,
  receive,
  startBridge,
  startEcho,
  waitFor,
} from '../helpers/bridge.js';
import { encryptKey, makeCa } from '../helpers/pki.js';
import { assertNoSecrets, SECRETS } from '../helpers/secrets.js';
import { servedFingerprint, tlsConnect, upgradeStatusLine } from '../helpers/tls-client.js';
import { tempDir } from '../helpers/tmp.js';

const ca = makeCa();
const server = ca.server();
const logs: string[][] = [];
after(() => assertNoSecrets(logs.flat()));

async function bridge(t: import('node:test').TestContext, args: string[]): Promise<RunningBridge> {
  const echo = await startEcho();
  t.after(() => echo.close());
  const running = await startBridge([...args, '127.0.0.1:0', `127.0.0.1:${echo.port}`], { secure: true });
  logs.push(running.logs);
  t.after(() => running.close());
  return running;
}

function certArgs(t: import('node:test').TestContext): string[] {
  const files = tempDir(t);
  return ['--cert', files.write('cert.pem', server.cert), '--key', files.write('key.pem', server.key)];
}

test('wss:// with the ws client relays data and verifies against the CA', async (t) => {
  const running = await bridge(t, certArgs(t));
  const ws = await openClient(running.url, undefined, { ca: ca.cert });
  ws.send(Buffer.from('over tls'));
  assert.equal((await receive(ws, 8)).toString(), 'over tls');
  ws.terminate();
  assert.ok(running.logs.some((l) => l.includes('session.open') && l.includes('tls=true')));
});

test("Node's TLS client completes a WebSocket handshake over TLS 1.3", async (t) => {
  const running = await bridge(t, certArgs(t));
  const socket = await tlsConnect(running.port, { ca: ca.cert });
  assert.equal(socket.authorized, true);
  assert.equal(socket.getProtocol(), 'TLSv1.3');
  assert.equal(await upgradeStatusLine(socket), 'HTTP/1.1 101 Switching Protocols');
  socket.destroy();
});

test('ws:// and wss:// share one port unless --ssl-only, which refuses plain with 403', async (t) => {
  const shared = await bridge(t, certArgs(t));
  const plain = await openClient(shared.url.replace('wss:', 'ws:'));
  plain.terminate();
  const only = await bridge(t, [...certArgs(t), '--ssl-only']);
  const refusal = await expectRefusal(only.url.replace('wss:', 'ws:'));
  assert.equal(refusal.status, 403);
  assert.ok(only.logs.some((l) => l.includes('connection.refused')));
  const secure = await openClient(only.url, undefined, { ca: ca.cert });
  secure.terminate();
});

const TLS11 = {
  minVersion: 'TLSv1.1',
  maxVersion: 'TLSv1.1',
  ciphers: 'DEFAULT@SECLEVEL=0',
  rejectUnauthorized: false,
} as const;

test('TLS 1.1 is refused by default and accepted with --ssl-version tlsv1_1', async (t) => {
  const strict = await bridge(t, certArgs(t));
  await assert.rejects(tlsConnect(strict.port, TLS11), (err: NodeJS.ErrnoException) => {
    assert.match(err.code ?? '', /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL/);
    return true;
  });
  const tls12 = await tlsConnect(strict.port, { maxVersion: 'TLSv1.2', ca: ca.cert });
  assert.equal(tls12.getProtocol(), 'TLSv1.2');
  tls12.destroy();

  const legacy = await bridge(t, [...certArgs(t), '--ssl-version', 'tlsv1_1']);
  const old = await tlsConnect(legacy.port, TLS11);
  assert.equal(old.getProtocol(), 'TLSv1.1');
  old.destroy();
});

test('--ssl-version tlsv1_3 refuses TLS 1.2 clients', async (t) => {
  const running = await bridge(t, [...certArgs(t), '--ssl-version', 'tlsv1_3']);
  await assert.rejects(tlsConnect(running.port, { maxVersion: 'TLSv1.2', ca: ca.cert }));
  (await tlsConnect(running.port, { ca: ca.cert })).destroy();
});

test('--cert auto serves a generated certificate for localhost and logs its fingerprint', async (t) => {
  const running = await bridge(t, ['--cert', 'auto']);
  const socket = await tlsConnect(running.port, { rejectUnauthorized: false });
  const peer = socket.getPeerCertificate(true);
  socket.destroy();
  const x509 = new X509Certificate(peer.raw);
  assert.ok(x509.checkHost('localhost'));
  assert.ok(x509.checkIP('127.0.0.1'));
  assert.ok(
    running.logs.some((l) => l.includes('tls.certificate_loaded') && l.includes(peer.fingerprint256)),
  );
  const ws = await openClient(running.url, undefined, { rejectUnauthorized: false });
  ws.terminate();
});

test('an encrypted key with --key-password serves wss://', async (t) => {
  const files = tempDir(t);
  const running = await bridge(t, [
    '-v',
    '--cert',
    files.write('cert.pem', server.cert + encryptKey(server.key, SECRETS.keyPassword)),
    '--key-password',
    SECRETS.keyPassword,
  ]);
  assert.equal((await servedFingerprint(running.port)).length, 95);
  const ws = await openClient(running.url, undefined, { ca: ca.cert });
  ws.terminate();
});

test('--ssl-ciphers limits the TLS 1.2 cipher suites offered', async (t) => {
  const running = await bridge(t, [...certArgs(t), '--ssl-ciphers', 'ECDHE-RSA-AES128-GCM-SHA256']);
  const chosen = await tlsConnect(running.port, { maxVersion: 'TLSv1.2', ca: ca.cert });
  assert.equal(chosen.getCipher().name, 'ECDHE-RSA-AES128-GCM-SHA256');
  chosen.destroy();
  await assert.rejects(
    tlsConnect(running.port, { maxVersion: 'TLSv1.2', ca: ca.cert, ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' }),
  );
});

// A TLS error inside an established session (a corrupt record, a garbage alert) left the TLS socket open:
// the bridge neither closed the session nor logged anything for as long as the client's TCP lived. The
// client here keeps its TCP connection open and deaf to what the bridge answers, as a hostile one would.
for (const [what, garbage] of [
  ['a corrupt record', Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x20]), Buffer.alloc(32, 0xa5)])],
  ['a garbage alert', Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0xff, 0xff])],
] as const) {
  test(`${what} inside a wss session closes it with a log line`, async (t) => {
    const running = await bridge(t, [...certArgs(t), '--log-format', 'json']);
    const raw = connect(running.port, '127.0.0.1');
    raw.on('error', () => {});
    t.after(() => raw.destroy());
    await once(raw, 'connect');
    let listening = true;
    const transport = new Duplex({
      read() {},
      write(chunk, _encoding, callback) {
        raw.write(chunk, callback);
      },
    });
    raw.on('data', (chunk: Buffer) => listening && transport.push(chunk));
    const socket = await tlsConnect(running.port, { ca: ca.cert, socket: transport });
    assert.equal(await upgradeStatusLine(socket), 'HTTP/1.1 101 Switching Protocols');
    await waitFor(() => running.bridge.sessions.size === 1, 2000, 'the session');
    listening = false;
    raw.write(garbage);
    await waitFor(() => running.bridge.sessions.size === 0, 3000, 'the session to end');
    const line = running.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.event === 'session.close');
    assert.equal(line?.closed_by, 'client');
    assert.equal(line?.code, 1006);
    assert.match(String(line?.reason), /client connection failed/);
    await waitFor(() => raw.closed || raw.readableEnded, 2000, 'the client connection to close');
  });
}
