// The viewer explains a refused connection (issue 17): browsers hide the HTTP status of a refused
// WebSocket, so the page said "wrong token, VNC server down, or the bridge refused" whatever happened. It
// now asks the bridge with a same-origin probe (src/admission/probe.ts) and shows the actual reason.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBridge } from '../helpers/bridge.js';
import { browserPerFile, cleanupStack, openPage, screenshot, waitState } from '../helpers/browser.js';
import { requireProgram } from '../helpers/programs.js';
import { tempDir } from '../helpers/tmp.js';
import { startVnc } from '../helpers/vnc.js';

const ready = browserPerFile(['Xtigervnc', 'tigervnc-standalone-server']);

/** A loopback port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

test('an unknown token: the page says the bridge does not know the token', async (t) => {
  const b = await ready(t);
  if (!b) return;
  const defer = cleanupStack(t);
  const tokens = join(tempDir(t, 'wstcp-browser-').dir, 'tokens');
  writeFileSync(tokens, `desk-1: 127.0.0.1:${await deadPort()}\n`);
  const bridge = await startBridge(['--novnc', '--tokens', `file:${tokens}`, '127.0.0.1:0']);
  defer(() => bridge.close());
  const page = await openPage(b);
  defer(() => page.context().close());
  await page.goto(`http://127.0.0.1:${bridge.port}/vnc.html?token=nobody`);
  await waitState(page, 'reconnecting');
  const status = (await page.textContent('#status'))!;
  assert.match(status, /does not know this token/);
  assert.match(status, /WSTCP_TOKEN_UNKNOWN/);
  await screenshot(page, 'viewer-refused-unknown-token');

  // Without any token the page asks for one, and connects with it (to a VNC server that is down here).
  const bare = await openPage(b);
  defer(() => bare.context().close());
  await bare.goto(`http://127.0.0.1:${bridge.port}/vnc.html`);
  await waitState(bare, 'reconnecting');
  assert.match((await bare.textContent('#status'))!, /routes by token/);
  await bare.waitForSelector('#token-form:not([hidden])');
  await screenshot(bare, 'viewer-asks-for-token');
  await bare.fill('#token', 'desk-1');
  await bare.click('#token-form button[type=submit]');
  await bare.waitForURL(/\?token=desk-1$/);
  await waitState(bare, 'reconnecting');
  assert.match((await bare.textContent('#status'))!, /VNC server is down/);
});

test('a VNC server that is down: the page says so, with the reason', async (t) => {
  const b = await ready(t);
  if (!b) return;
  const defer = cleanupStack(t);
  const bridge = await startBridge(['--novnc', '127.0.0.1:0', `127.0.0.1:${await deadPort()}`]);
  defer(() => bridge.close());
  const page = await openPage(b);
  defer(() => page.context().close());
  await page.goto(`http://127.0.0.1:${bridge.port}/`);
  await waitState(page, 'reconnecting');
  const status = (await page.textContent('#status'))!;
  assert.match(status, /VNC server is down/);
  assert.match(status, /WSTCP_TARGET_UNREACHABLE/);
  await screenshot(page, 'viewer-refused-vnc-down');
  // The probe was logged like the handshake it stands for.
  assert.ok(bridge.logs.some((l) => l.includes('handshake.refused') && l.includes('probe=true')));
});

test('a wrong VNC password: the page says the password was not accepted', async (t) => {
  const b = await ready(t);
  if (!b || !requireProgram(t, 'tigervncpasswd', 'tigervnc-tools')) return;
  const vnc = await startVnc({ password: 'open-sesame' });
  const defer = cleanupStack(t);
  defer(() => vnc.close());
  const bridge = await startBridge(['--novnc', '127.0.0.1:0', `127.0.0.1:${vnc.port}`]);
  defer(() => bridge.close());
  const page = await openPage(b);
  defer(() => page.context().close());
  await page.goto(`http://127.0.0.1:${bridge.port}/`);
  await waitState(page, 'password');
  await page.fill('#password', 'wrong-one');
  await page.click('#login button[type=submit]');
  await waitState(page, 'password');
  assert.match((await page.textContent('#login-message'))!, /password was not accepted/);
  await screenshot(page, 'viewer-refused-password');
});
