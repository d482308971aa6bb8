/**
 * The htpasswd file of --basic-auth is read again when it changes (it was read once at startup): users
 * added or removed take effect without a restart, and a broken file keeps the last good users.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { expectRefusal, openClient, startBridge, startEcho } from '../helpers/bridge.js';
import { tempDir } from '../helpers/tmp.js';

const sha = (password: string) => `{SHA}${createHash('sha1').update(password).digest('base64')}`;
const auth = (user: string, password: string) => ({
  headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
});

test('an edited htpasswd file takes effect without a restart; a broken one keeps the last good users', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const files = tempDir(t);
  const file = files.write('users', `carol:${sha('first')}\n`);
  const running = await startBridge([
    '--log-format',
    'json',
    '--basic-auth',
    file,
    '127.0.0.1:0',
    `127.0.0.1:${echo.port}`,
  ]);
  t.after(() => running.close());
  const url = `${running.url}/`;
  (await openClient(url, undefined, auth('carol', 'first'))).close();

  writeFileSync(file, `dave:${sha('second')}\n`);
  await sleep(1100);
  assert.equal((await expectRefusal(url, auth('carol', 'first'))).status, 401);
  (await openClient(url, undefined, auth('dave', 'second'))).close();
  assert.ok(running.logs.some((l) => l.includes('"auth.htpasswd_reloaded"')));

  writeFileSync(file, 'dave:plain-text-is-refused\n');
  await sleep(1100);
  (await openClient(url, undefined, auth('dave', 'second'))).close();
  assert.ok(running.logs.some((l) => l.includes('"auth.htpasswd_reload_failed"')));
  assert.ok(!running.logs.some((l) => l.includes('plain-text-is-refused')), 'the file content is not logged');
});
