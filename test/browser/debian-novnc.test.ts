// The full noVNC application from Debian's novnc package, served with --web /usr/share/novnc, opened
// the way websockify users open it: vnc.html?path=websockify%3Ftoken%3DX&autoconnect=true.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBridge } from '../helpers/bridge.js';
import { browserPerFile, cleanupStack, openPage, screenshot, waitForColor } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';
import { startVnc } from '../helpers/vnc.js';

const NOVNC_DIR = '/usr/share/novnc';
const ready = browserPerFile(
  ['Xtigervnc', 'tigervnc-standalone-server'],
  ['xsetroot', 'x11-xserver-utils'],
  [`${NOVNC_DIR}/utils/novnc_proxy`, 'novnc'],
);

test("Debian's noVNC vnc.html, served with --web, connects through a token", async (t) => {
  const browser = await ready(t);
  if (!browser) return;
  assert.ok(existsSync(join(NOVNC_DIR, 'vnc.html')));

  const vnc = await startVnc();
  const defer = cleanupStack(t);
  defer(() => vnc.close());
  await vnc.x('xsetroot', ['-solid', '#ff8000']);
  const tokens = join(tempDir(t, 'wstcp-browser-').dir, 'tokens');
  writeFileSync(tokens, `office: 127.0.0.1:${vnc.port}\n`);
  const bridge = await startBridge([
    '--web',
    NOVNC_DIR,
    '--token-plugin',
    'TokenFile',
    '--token-source',
    tokens,
    '127.0.0.1:0',
  ]);
  defer(() => bridge.close());

  const page = await openPage(browser);
  defer(() => page.context().close());
  const sockets: string[] = [];
  const failed: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  page.on('response', (res) => {
    // noVNC asks for package.json to show its version; Debian does not ship it (websockify 404s too).
    if (res.status() >= 400 && !res.url().endsWith('/package.json'))
      failed.push(`${res.status()} ${res.url()}`);
  });
  await page.goto(
    `http://127.0.0.1:${bridge.port}/vnc.html?path=websockify%3Ftoken%3Doffice&autoconnect=true`,
  );
  await page.waitForFunction(
    () => document.documentElement.classList.contains('noVNC_connected'),
    undefined,
    {
      timeout: 15000,
    },
  );
  await waitForColor(page, '#noVNC_container canvas', [255, 128, 0]);
  assert.deepEqual(sockets, [`ws://127.0.0.1:${bridge.port}/websockify?token=office`]);
  assert.deepEqual(failed, [], 'every file the application asked for was served');
  await screenshot(page, 'debian-novnc-connected');
});
