// The built-in viewer over https/wss with a self-signed certificate, and with token routing: the page
// passes ?token= on to the WebSocket URL, and an unknown token is reported in plain words.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import forge from 'node-forge';
import { startBridge } from '../helpers/bridge.js';
import {
  browserPerFile,
  cleanupStack,
  openPage,
  screenshot,
  waitForColor,
  waitState,
} from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';
import { startVnc } from '../helpers/vnc.js';

const CANVAS = '#screen canvas';
const ready = browserPerFile(['Xtigervnc', 'tigervnc-standalone-server'], ['xsetroot', 'x11-xserver-utils']);

/** A self-signed certificate for 127.0.0.1, written as cert.pem and key.pem into `dir`. */
function selfSigned(dir: string): { cert: string; key: string } {
  // Node generates the key (native, fast); forge builds and signs the certificate.
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKey = forge.pki.privateKeyFromPem(
    pair.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  );
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(
    pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  );
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  const name = [{ name: 'commonName', value: '127.0.0.1' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }]);
  cert.sign(privateKey, forge.md.sha256.create());
  const paths = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  writeFileSync(paths.cert, forge.pki.certificateToPem(cert));
  writeFileSync(paths.key, forge.pki.privateKeyToPem(privateKey), { mode: 0o600 });
  return paths;
}

test('over https the viewer connects back with wss and shows the desktop', async (t) => {
  const b = await ready(t);
  if (!b) return;
  const vnc = await startVnc();
  const defer = cleanupStack(t);
  defer(() => vnc.close());
  await vnc.x('xsetroot', ['-solid', '#ff0000']);
  const tls = selfSigned(tempDir(t, 'wstcp-browser-'));
  const bridge = await startBridge(
    ['--novnc', '--cert', tls.cert, '--key', tls.key, '127.0.0.1:0', `127.0.0.1:${vnc.port}`],
    { secure: true },
  );
  defer(() => bridge.close());

  const page = await openPage(b, { ignoreHTTPSErrors: true });
  defer(() => page.context().close());
  const sockets: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await page.goto(`https://127.0.0.1:${bridge.port}/vnc.html`);
  await waitState(page, 'connected');
  await waitForColor(page, CANVAS, [255, 0, 0]);
  assert.deepEqual(sockets, [`wss://127.0.0.1:${bridge.port}/websockify`]);
  await screenshot(page, 'viewer-wss');
});

test('the token in the page URL routes the session; an unknown one is reported', async (t) => {
  const b = await ready(t);
  if (!b) return;
  const vnc = await startVnc();
  const defer = cleanupStack(t);
  defer(() => vnc.close());
  await vnc.x('xsetroot', ['-solid', '#00ffff']);
  const tokens = join(tempDir(t, 'wstcp-browser-'), 'tokens');
  writeFileSync(tokens, `# test desktops\ndesk-1: 127.0.0.1:${vnc.port}\n`);
  const bridge = await startBridge([
    '--novnc',
    '--token-plugin',
    'TokenFile',
    '--token-source',
    tokens,
    '127.0.0.1:0',
  ]);
  defer(() => bridge.close());

  const page = await openPage(b);
  defer(() => page.context().close());
  const sockets: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await page.goto(`http://127.0.0.1:${bridge.port}/vnc.html?token=desk-1`);
  await waitState(page, 'connected');
  await waitForColor(page, CANVAS, [0, 255, 255]);
  assert.deepEqual(sockets, [`ws://127.0.0.1:${bridge.port}/websockify?token=desk-1`]);

  // noVNC's own spelling, path=websockify?token=..., works on the built-in page as well.
  const byPath = await openPage(b);
  defer(() => byPath.context().close());
  const pathSockets: string[] = [];
  byPath.on('websocket', (ws) => pathSockets.push(ws.url()));
  await byPath.goto(`http://127.0.0.1:${bridge.port}/vnc.html?path=websockify%3Ftoken%3Ddesk-1`);
  await waitState(byPath, 'connected');
  assert.deepEqual(pathSockets, [`ws://127.0.0.1:${bridge.port}/websockify?token=desk-1`]);

  const lost = await openPage(b);
  defer(() => lost.context().close());
  await lost.goto(`http://127.0.0.1:${bridge.port}/vnc.html?token=nobody`);
  await waitState(lost, 'reconnecting');
  assert.match((await lost.textContent('#status'))!, /could not be reached.*token/);
  await screenshot(lost, 'viewer-unknown-token');
});
