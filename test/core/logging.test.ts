// Log destinations and levels: --log-file gets JSON lines, -v adds debug lines, --traffic one line per frame,
// and query strings (which carry tokens) never reach a log line.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { closed, expectRefusal, openClient, receive, startBridge, startEcho } from '../helpers/bridge.js';
import { spawnWstcp } from '../helpers/process.js';

test('--log-file receives the JSON session lines; nothing but errors goes to stderr', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const file = join(mkdtempSync(join(tmpdir(), 'wstcp-log-')), 'wstcp.log');
  const wstcp = await spawnWstcp(['--log-file', file, '127.0.0.1:6', `127.0.0.1:${echo.port}`]);
  t.after(() => wstcp.kill('SIGKILL'));
  // The listening line went to the file, so spawnWstcp saw none: the process is still running, port unknown.
  assert.equal(wstcp.child.exitCode, null);
  wstcp.kill('SIGTERM');
  await wstcp.exited;
  const events = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { event: string }).event);
  assert.ok(
    events.includes('bridge.stopped') || events.some((e) => e === 'bridge.listening'),
    events.join(','),
  );
  assert.equal(wstcp.stderr(), '');
});

test('-v logs debug lines, --traffic one line per frame; the token in the query is never logged', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const bridge = await startBridge([
    '127.0.0.1:0',
    `127.0.0.1:${echo.port}`,
    '--traffic',
    '--log-format',
    'json',
  ]);
  t.after(() => bridge.close());
  const ws = await openClient(`${bridge.url}/websockify?token=s3cret-token-value`);
  ws.send(Buffer.from('abc'));
  await receive(ws, 3);
  ws.close();
  await closed(ws);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const lines = bridge.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
  const frames = lines.filter((l) => l.event === 'session.frame');
  assert.deepEqual(
    frames.map((f) => [f.dir, f.bytes]),
    [
      ['client>target', 3],
      ['target>client', 3],
    ],
  );
  assert.ok(lines.some((l) => l.level === 'debug'));
  const open = lines.find((l) => l.event === 'session.open');
  assert.equal(open?.path, '/websockify');
  assert.ok(!bridge.logs.some((l) => l.includes('s3cret')), 'the token never appears');
});

test('without -v no debug line is written', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${echo.port}`, '--log-format', 'json']);
  t.after(() => bridge.close());
  const ws = await openClient(bridge.url);
  ws.close();
  await closed(ws);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(bridge.logs.length >= 2);
  assert.ok(bridge.logs.every((l) => (JSON.parse(l) as { level: string }).level !== 'debug'));
});

test('with token routing, a token in the last path segment (/t/TOKEN) is logged as its tag only', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const dir = mkdtempSync(join(tmpdir(), 'wstcp-tokens-'));
  const file = join(dir, 'tokens.conf');
  writeFileSync(file, `pathsecret42: 127.0.0.1:${echo.port}\n`);
  // --allow-target before the positional listen port: it must not swallow it.
  const bridge = await startBridge([
    '--tokens',
    `file:${file}`,
    '--allow-target',
    `127.0.0.1:${echo.port}`,
    '127.0.0.1:0',
  ]);
  t.after(() => bridge.close());
  const ws = await openClient(`${bridge.url}/t/pathsecret42`);
  ws.close();
  await closed(ws);
  await expectRefusal(`${bridge.url}/t/wrongsecret99`);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(bridge.logs.some((l) => l.includes('session.open') && l.includes('path=/t/t:')));
  assert.ok(
    !bridge.logs.some((l) => l.includes('pathsecret42') || l.includes('wrongsecret99')),
    bridge.logs.join('\n'),
  );
});
