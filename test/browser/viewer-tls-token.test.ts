// The built-in viewer over https/wss with a self-signed certificate, and with token routing: the page
// passes ?token= on to the WebSocket URL, and an unknown token is reported in plain words.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBridge } from '../helpers/bridge.js';
import {
  browserPerFile,
  cleanupStack,
  openPage,
  screenshot,
  waitForColor,
  waitState,
} from '../helpers/browser.js';
import { selfSigned } from '../helpers/pki.js';
import { tempDir } from '../helpers/tmp.js';
import { startVnc } from '../helpers/vnc.js';

const CANVAS = '#screen canvas';
const ready = browserPerFile(['Xtigervnc', 'tigervnc-standalone-server'], ['xsetroot', 'x11-xserver-utils']);

test('over https the viewer connects back with wss and shows the desktop', async (t) => {
  const b = await ready(t);
  if (!b) return;
  const vnc = await startVnc();
  const defer = cleanupStack(t);
  defer(() => vnc.close());
  await vnc.x('xsetroot', ['-solid', '#ff0000']);
  const files = tempDir(t, 'wstcp-browser-');
  const issued = selfSigned(['127.0.0.1']);
  const tls = { cert: files.write('cert.pem', issued.cert), key: files.write('key.pem', issued.key) };
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
  const tokens = join(tempDir(t, 'wstcp-browser-').dir, 'tokens');
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
