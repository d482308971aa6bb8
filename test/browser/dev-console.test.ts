// --dev-console in a real browser: Chromium loads the page from the bridge, it connects to the same path,
// a typed message reaches the program and its reply is shown (the program is a Python script that
// answers each line).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBridge } from '../helpers/bridge.js';
import { browserPerFile, openPage } from '../helpers/browser.js';
import { writeScript } from '../helpers/commands.js';
import { tempDir } from '../helpers/tmp.js';

const ready = browserPerFile();

test('the dev console sends what is typed and shows the replies', async (t) => {
  const browser = await ready(t);
  if (!browser) return;
  const dir = tempDir(t).dir;
  writeScript(
    dir,
    'shout.py',
    '#!/usr/bin/python3\nimport sys\nfor line in sys.stdin:\n    print(line.strip().upper(), flush=True)\n',
  );
  const bridge = await startBridge(['--dir', dir, '--dev-console', '127.0.0.1:0']);
  t.after(() => bridge.close());
  const page = await openPage(browser);
  t.after(() => page.context().close());
  await page.goto(`http://127.0.0.1:${bridge.port}/shout.py`);
  await page.waitForSelector('#message:not([disabled])');
  await page.fill('#message', 'hello console');
  await page.press('#message', 'Enter');
  await page.waitForSelector('#log .in');
  assert.equal(await page.textContent('#log .in'), '< HELLO CONSOLE');
  assert.equal(await page.textContent('#log .out'), '> hello console');
});
