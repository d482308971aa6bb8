// Command targets through a real wstcp bridge: what only wstcp does (websocketd has no equivalent to
// compare with), and the failures a client or a program can cause.
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { test } from 'node:test';
import WebSocket from 'ws';
import { startBridge } from '../helpers/bridge.js';
import { talk, writeScript } from '../helpers/commands.js';
import { rawClient } from '../helpers/frames.js';
import { fetchRaw } from '../helpers/http.js';
import { descendantsOf, eventually, groupMembers } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

function programsNamed(name: string) {
  return descendantsOf().filter((p) => p.name === name);
}

test('--cmd splits its words without a shell and runs them for each session', async (t) => {
  const bridge = await startBridge([
    '--cmd',
    `sh -c 'echo "$QUERY_STRING|$SCRIPT_NAME|$PATH_INFO"' 'not $expanded'`,
    '127.0.0.1:0',
  ]);
  t.after(() => bridge.close());
  const { texts, code, messages } = await talk(`${bridge.url}/any/path?x=1`);
  assert.deepEqual(texts, ['x=1|/|/any/path']);
  assert.equal(code, 1000);
  assert.equal(messages[0]!.binary, false);
});

test('--max-forks: one program more than allowed is HTTP 429, and the slot comes back when it is reaped', async (t) => {
  const bridge = await startBridge(['--cmd', 'cat', '--max-forks', '2', '127.0.0.1:0']);
  t.after(() => bridge.close());
  const open = async () => {
    const ws = new WebSocket(bridge.url);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return ws;
  };
  const first = await open();
  const second = await open();
  await assert.rejects(talk(bridge.url), /HTTP 429/);
  first.close();
  await eventually(() => programsNamed('cat').length === 1, 'the first cat reaped');
  const third = await open();
  second.close();
  third.close();
  await eventually(() => programsNamed('cat').length === 0, 'every cat reaped');
});

test('a program that cannot be started is an HTTP 500 before any 101, with a log line', async (t) => {
  const dir = tempDir(t).dir;
  const script = writeScript(dir, 'gone.sh', '#!/bin/sh\necho hi\n');
  const bridge = await startBridge(['--log-format', 'json', '--cmd', script, '127.0.0.1:0']);
  t.after(() => bridge.close());
  chmodSync(script, 0o644);
  await assert.rejects(talk(bridge.url), /HTTP 500/);
  const refused = bridge.logs.map((l) => JSON.parse(l)).find((l) => l.event === 'handshake.refused');
  assert.equal(refused?.code, 'WSTCP_COMMAND_FAILED');
});

test('a command that is missing at startup stops wstcp before it listens', async (t) => {
  const dir = tempDir(t).dir;
  await assert.rejects(startBridge(['--cmd', `${dir}/nonexistent`, '127.0.0.1:0']), { code: 'WSTCP_CONFIG' });
  await assert.rejects(startBridge(['--dir', `${dir}/nonexistent`, '127.0.0.1:0']), { code: 'WSTCP_CONFIG' });
});

test('a client that vanishes mid-output: the program and its group are gone soon after', async (t) => {
  const dir = tempDir(t).dir;
  const script = writeScript(
    dir,
    'flood.sh',
    '#!/bin/sh\necho "pid $$"\nwhile :; do echo "line of output"; done\n',
  );
  const bridge = await startBridge(['--cmd', script, '127.0.0.1:0']);
  t.after(() => bridge.close());
  const { socket, rest } = await rawClient(bridge.port);
  let head = rest;
  while (!head.includes('pid '))
    head = Buffer.concat([head, await new Promise<Buffer>((r) => socket.once('data', r))]);
  const pid = Number(/pid (\d+)/.exec(head.toString('latin1'))![1]);
  socket.destroy();
  await eventually(() => groupMembers(pid).length === 0, 'the flood script and its group gone', 3000);
  await eventually(() => bridge.bridge.sessions.size === 0, 'the session ended');
});

test('a client that stops reading pauses the program: the bridge holds a bounded amount', async (t) => {
  const bridge = await startBridge([
    '--binary',
    '--cmd',
    'cat /dev/zero',
    '--max-buffer',
    '1',
    '127.0.0.1:0',
  ]);
  t.after(() => bridge.close());
  const { socket } = await rawClient(bridge.port);
  socket.pause();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const [session] = bridge.bridge.sessions;
  const held = session!.queuedToClient;
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.ok(held <= 2 * 1024 * 1024, `held ${held} bytes for a client that reads nothing`);
  assert.equal(session!.queuedToClient, held, 'nothing more is read from the program meanwhile');
  assert.equal(programsNamed('cat').length, 1, 'cat is blocked, not gone');
  socket.destroy();
  await eventually(() => programsNamed('cat').length === 0, 'cat reaped');
});

test('1,000 sessions opened and closed in a loop leave no process behind', async (t) => {
  const bridge = await startBridge(['--cmd', 'cat', '127.0.0.1:0']);
  t.after(() => bridge.close());
  const before = descendantsOf().length;
  let done = 0;
  const worker = async () => {
    while (done < 1000) {
      done++;
      const n = done;
      const { texts } = await talk(bridge.url, { send: [`hello ${n}`], until: (m) => m.length === 1 });
      assert.deepEqual(texts, [`hello ${n}`]);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await eventually(() => bridge.bridge.sessions.size === 0, 'every session ended', 10000);
  await eventually(() => programsNamed('cat').length === 0, 'every program reaped', 10000);
  // Spawners of earlier tests' bridges may have gone meanwhile: never more processes than before.
  assert.ok(descendantsOf().length <= before, 'no process left behind');
  assert.deepEqual(
    descendantsOf().filter((p) => p.state === 'Z'),
    [],
    'no zombie',
  );
});

test('--same-origin: the Origin must be the host the handshake went to', async (t) => {
  const bridge = await startBridge(['--cmd', 'echo hi', '--same-origin', '127.0.0.1:0']);
  t.after(() => bridge.close());
  const host = `127.0.0.1:${bridge.port}`;
  assert.deepEqual((await talk(bridge.url, { headers: { Origin: `http://${host}` } })).texts, ['hi']);
  await assert.rejects(talk(bridge.url, { headers: { Origin: 'http://evil.example' } }), /HTTP 403/);
  await assert.rejects(
    talk(bridge.url, { headers: { Origin: `http://127.0.0.1:${bridge.port + 1}` } }),
    /HTTP 403/,
  );
});

test('--header-ws and --header-http: extra headers on 101 answers and on plain answers', async (t) => {
  const bridge = await startBridge([
    '--cmd',
    'echo hi',
    '--dev-console',
    '--header',
    'X-Both: 1',
    '--header-ws',
    'X-Ws: 2',
    '--header-http',
    'X-Http: 3',
    '127.0.0.1:0',
  ]);
  t.after(() => bridge.close());
  const upgradeHeaders = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const ws = new WebSocket(bridge.url);
    ws.once('upgrade', (res) => resolve(res.headers));
    ws.once('error', reject);
    ws.on('close', () => {});
  });
  assert.equal(upgradeHeaders['x-both'], '1');
  assert.equal(upgradeHeaders['x-ws'], '2');
  assert.equal(upgradeHeaders['x-http'], undefined);
  const page = await fetchRaw(bridge.port, '/counter.sh');
  assert.equal(page.status, 200);
  assert.equal(page.headers['x-both'], '1');
  assert.equal(page.headers['x-http'], '3');
  assert.equal(page.headers['x-ws'], undefined);
});

test('--dev-console: a plain GET on any path serves the page that talks to that path', async (t) => {
  const bridge = await startBridge(['--cmd', 'cat', '--dev-console', '127.0.0.1:0']);
  t.after(() => bridge.close());
  const page = await fetchRaw(bridge.port, '/some/script');
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(page.body.toString(), /new WebSocket\(/);
  assert.equal((await fetchRaw(bridge.port, '/', { method: 'POST' })).status, 405);
});

test('--cgi-dir: plain requests run CGI scripts, WebSocket requests run the command', async (t) => {
  const dir = tempDir(t).dir;
  writeScript(
    dir,
    'hello.cgi',
    '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nhello from $SCRIPT_NAME\\n"\n',
  );
  const bridge = await startBridge(['--cmd', 'echo ws', '--cgi-dir', dir, '127.0.0.1:0']);
  t.after(() => bridge.close());
  const answer = await fetchRaw(bridge.port, '/hello.cgi');
  assert.equal(answer.status, 200);
  assert.equal(answer.body.toString(), 'hello from /hello.cgi\n');
  assert.equal((await fetchRaw(bridge.port, '/missing.cgi')).status, 404);
  assert.deepEqual((await talk(`${bridge.url}/hello.cgi`)).texts, ['ws']);
});

test('--reverse-lookup: REMOTE_HOST is the client name from the system resolver, as websocketd gives it', async (t) => {
  const bridge = await startBridge([
    '--cmd',
    `sh -c 'echo "$REMOTE_ADDR $REMOTE_HOST"'`,
    '--reverse-lookup',
    '127.0.0.1:0',
  ]);
  t.after(() => bridge.close());
  // /etc/hosts names 127.0.0.1 localhost on every system this runs on.
  assert.deepEqual((await talk(bridge.url)).texts, ['127.0.0.1 localhost']);
});

test('stderr reaches the log line by line, tagged with the session, and never the client', async (t) => {
  const bridge = await startBridge([
    '--log-format',
    'json',
    '--cmd',
    `sh -c 'echo to client; echo "problem one" >&2; echo "problem two" >&2'`,
    '127.0.0.1:0',
  ]);
  t.after(() => bridge.close());
  const { texts } = await talk(bridge.url);
  assert.deepEqual(texts, ['to client']);
  const lines = bridge.logs.map((l) => JSON.parse(l));
  const opened = lines.find((l) => l.event === 'session.open');
  await eventually(
    () => bridge.logs.filter((l) => l.includes('command.stderr')).length === 2,
    'two stderr lines',
  );
  const stderr = bridge.logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'command.stderr');
  assert.deepEqual(
    stderr.map((l) => [l.session, l.line]),
    [
      [opened.session, 'problem one'],
      [opened.session, 'problem two'],
    ],
  );
});
