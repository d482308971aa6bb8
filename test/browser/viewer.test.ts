// The built-in viewer (--novnc) end to end: real Chromium loads /vnc.html from the bridge, noVNC
// connects through the bridge to a real Xtigervnc, the canvas shows what an X client drew, input
// reaches the X server, a dropped bridge is reconnected, and a VNC password is asked for.
import assert from 'node:assert/strict';
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
import { requireProgram } from '../helpers/programs.js';
import { startVnc } from '../helpers/vnc.js';

const CANVAS = '#screen canvas';
const ready = browserPerFile(
  ['Xtigervnc', 'tigervnc-standalone-server'],
  ['xsetroot', 'x11-xserver-utils'],
  ['xset', 'x11-xserver-utils'],
  ['xdotool', 'xdotool'],
);

/** Where the X pointer is, from xdotool: `x:12 y:34 screen:0 window:...`. */
function pointer(text: string): { x: number; y: number } {
  const m = /x:(\d+) y:(\d+)/.exec(text);
  assert.ok(m, `xdotool said ${text}`);
  return { x: Number(m[1]), y: Number(m[2]) };
}

test('the viewer shows the desktop, forwards the mouse and keys, and survives input', async (t) => {
  const b = await ready(t);
  if (!b) return;
  const vnc = await startVnc();
  const defer = cleanupStack(t);
  defer(() => vnc.close());
  await vnc.x('xsetroot', ['-solid', '#ff0000']);
  const bridge = await startBridge(['--novnc', '127.0.0.1:0', `127.0.0.1:${vnc.port}`]);
  defer(() => bridge.close());

  const page = await openPage(b);
  defer(() => page.context().close());
  const sockets: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await page.goto(`http://127.0.0.1:${bridge.port}/vnc.html`);
  await waitState(page, 'connected');
  await waitForColor(page, CANVAS, [255, 0, 0]);
  assert.deepEqual(sockets, [`ws://127.0.0.1:${bridge.port}/websockify`]);
  assert.match((await page.textContent('#status'))!, /wstcp-test/, 'the desktop name is shown');
  await screenshot(page, 'viewer-connected');

  // The desktop is scaled to fit the area below the status bar, keeping its aspect ratio.
  const box = (await page.locator(CANVAS).boundingBox())!;
  const viewport = page.viewportSize()!;
  assert.ok(box.width <= viewport.width && box.height <= viewport.height);
  assert.ok(Math.abs(box.width / box.height - 640 / 480) < 0.02, `aspect ${box.width}x${box.height}`);

  // Live updates: a change on the X server reaches the canvas.
  await vnc.x('xsetroot', ['-solid', '#0000ff']);
  await waitForColor(page, CANVAS, [0, 0, 255]);

  // The mouse reaches the X server, at the position scaled back to desktop pixels.
  const target = { x: 0.25, y: 0.75 };
  await page.mouse.move(box.x + box.width * target.x, box.y + box.height * target.y);
  const expected = { x: 640 * target.x, y: 480 * target.y };
  let where = { x: -1, y: -1 };
  for (let i = 0; i < 50; i++) {
    where = pointer(await vnc.x('xdotool', ['getmouselocation']));
    if (Math.abs(where.x - expected.x) <= 3 && Math.abs(where.y - expected.y) <= 3) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(
    Math.abs(where.x - expected.x) <= 3 && Math.abs(where.y - expected.y) <= 3,
    JSON.stringify(where),
  );

  // Keys reach the X server too: Caps Lock pressed in the browser turns on the server's lock state.
  const capsLock = async () => /Caps Lock:\s+on/.test(await vnc.x('xset', ['q']));
  assert.equal(await capsLock(), false);
  await page.locator(CANVAS).click();
  await page.keyboard.press('CapsLock');
  for (let i = 0; i < 50 && !(await capsLock()); i++)
    await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(await capsLock(), true, 'Caps Lock reached the X server');
  await page.keyboard.type('hello');
  await page.keyboard.press('Enter');
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(await page.getAttribute('#status', 'data-state'), 'connected');
  assert.equal(sockets.length, 1, 'no reconnect happened');
  await vnc.x('xsetroot', ['-solid', '#00ff00']);
  await waitForColor(page, CANVAS, [0, 255, 0]);
});

test('after the bridge drops, the viewer says so and reconnects by itself', async (t) => {
  const b = await ready(t);
  if (!b) return;
  const vnc = await startVnc();
  const defer = cleanupStack(t);
  defer(() => vnc.close());
  await vnc.x('xsetroot', ['-solid', '#ff0000']);
  const first = await startBridge(['--novnc', '127.0.0.1:0', `127.0.0.1:${vnc.port}`]);
  defer(() => first.close());
  const port = first.port;

  const page = await openPage(b);
  defer(() => page.context().close());
  await page.goto(`http://127.0.0.1:${port}/vnc.html`);
  await waitState(page, 'connected');

  // Not awaited here: the port is free as soon as close() starts, while the page's keep-alive
  // connection can delay its end; the cleanup above awaits the same promise.
  void first.close();
  await waitState(page, 'reconnecting', 5000);
  assert.match((await page.textContent('#status'))!, /lost|closed/);
  await screenshot(page, 'viewer-reconnecting');

  const second = await startBridge(['--novnc', `127.0.0.1:${port}`, `127.0.0.1:${vnc.port}`]);
  defer(() => second.close());
  await waitState(page, 'connected', 15000);
  await vnc.x('xsetroot', ['-solid', '#ffff00']);
  await waitForColor(page, CANVAS, [255, 255, 0]);
});

test('a VNC password is asked for, a wrong one is refused in plain words, the right one connects and reconnects', async (t) => {
  const b = await ready(t);
  if (!b || !requireProgram(t, 'tigervncpasswd', 'tigervnc-tools')) return;
  const vnc = await startVnc({ password: 'open-sesame' });
  const defer = cleanupStack(t);
  defer(() => vnc.close());
  await vnc.x('xsetroot', ['-solid', '#ff00ff']);
  const bridge = await startBridge(['--novnc', '127.0.0.1:0', `127.0.0.1:${vnc.port}`]);
  defer(() => bridge.close());

  const page = await openPage(b);
  defer(() => page.context().close());
  await page.goto(`http://127.0.0.1:${bridge.port}/`);
  await waitState(page, 'password');
  assert.ok(await page.isVisible('#login'));
  await screenshot(page, 'viewer-password');

  await page.fill('#password', 'wrong-one');
  await page.click('#login button[type=submit]');
  await waitState(page, 'password');
  assert.match((await page.textContent('#login-message'))!, /not accepted/);

  await page.fill('#password', 'open-sesame');
  await page.click('#login button[type=submit]');
  await waitState(page, 'connected');
  assert.ok(!(await page.isVisible('#login')));
  await waitForColor(page, CANVAS, [255, 0, 255]);
  await screenshot(page, 'viewer-password-connected');

  // After a drop the page logs in again with the password it kept, without asking.
  const port = bridge.port;
  void bridge.close();
  await waitState(page, 'reconnecting', 5000);
  const again = await startBridge(['--novnc', `127.0.0.1:${port}`, `127.0.0.1:${vnc.port}`]);
  defer(() => again.close());
  await waitState(page, 'connected', 15000);
  assert.ok(!(await page.isVisible('#login')));
});
