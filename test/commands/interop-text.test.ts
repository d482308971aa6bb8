// The same scripts behind the real websocketd (Debian 0.4.1) and behind wstcp --dir, in text mode: what
// a client receives, the environment a script sees, the routing of --dir, the teardown signals a script
// observes, and a program that never reads. websocketd is started once for the whole file.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningBridge, startBridge } from '../helpers/bridge.js';
import { type Conversation, talk, writeScript } from '../helpers/commands.js';
import { eventually } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';
import { type RunningWebsocketd, startWebsocketd } from '../helpers/websocketd.js';

const cleanups: (() => void)[] = [];
const files = { after: (fn: () => void) => cleanups.push(fn) };
const root = tempDir(files, 'wstcp-interop-').dir;
const scripts = join(root, 'scripts');
const logs = join(root, 'logs');
mkdirSync(join(scripts, 'sub'), { recursive: true });
mkdirSync(logs);

writeScript(scripts, 'counter.sh', '#!/bin/sh\nfor i in 1 2 3 4 5; do echo $i; sleep 0.02; done\n');
writeScript(scripts, 'echo.sh', '#!/bin/sh\nwhile read -r line; do echo "got: $line"; done\n');
writeScript(
  scripts,
  'greeter.py',
  '#!/usr/bin/python3\nimport sys\nfor line in sys.stdin:\n    print("Hello, " + line.strip() + "!", flush=True)\n',
);
writeScript(scripts, 'env.sh', '#!/bin/sh\nenv\n');
writeScript(join(scripts, 'sub'), 'where.sh', '#!/bin/sh\necho "$SCRIPT_NAME|$PATH_INFO|$QUERY_STRING"\n');
writeScript(scripts, 'plain.txt', 'not a program\n', 0o644);
// Records each signal (and its pid first) in logs/$QUERY_STRING, survives INT and TERM.
writeScript(
  scripts,
  'trap.sh',
  `#!/bin/sh
log="${logs}/$QUERY_STRING"
echo "pid $$" > "$log"
trap 'echo INT >> "$log"' INT
trap 'echo TERM >> "$log"' TERM
echo ready
while :; do sleep 0.02; done
`,
);
writeScript(
  scripts,
  'noread.sh',
  '#!/bin/sh\necho "pid $$"\ni=0\nwhile :; do i=$((i+1)); echo "tick $i"; sleep 0.02; done\n',
);
writeScript(scripts, 'lastline.sh', "#!/bin/sh\nprintf 'first\\nlast without newline'\n");

let websocketd: RunningWebsocketd | undefined;
let wstcp: RunningBridge;

before(async (t) => {
  // startWebsocketd skips (or fails under CI) through this context when websocketd is missing.
  websocketd = await startWebsocketd(t as never, [`--dir=${scripts}`], { cwd: process.cwd() });
  wstcp = await startBridge(['--dir', scripts, '127.0.0.1:0']);
});
after(async () => {
  await websocketd?.close();
  await wstcp?.close();
  for (const fn of cleanups) fn();
});

/** Both servers, for tests that compare them; the test is skipped when websocketd is missing. */
function both(t: { skip(message: string): void }): { websocketd: string; wstcp: string } | undefined {
  if (!websocketd) {
    t.skip('SKIPPED: websocketd is not installed (apt-get install websocketd)');
    return undefined;
  }
  return { websocketd: websocketd.url, wstcp: wstcp.url };
}

test('a script that only writes: the same lines, in order', async (t) => {
  const urls = both(t);
  if (!urls) return;
  const [theirs, ours]: [Conversation, Conversation] = await Promise.all([
    talk(`${urls.websocketd}/counter.sh`),
    talk(`${urls.wstcp}/counter.sh`),
  ]);
  assert.deepEqual(theirs.texts, ['1', '2', '3', '4', '5']);
  assert.deepEqual(ours.texts, theirs.texts);
  assert.ok(
    ours.messages.every((m) => !m.binary),
    'text frames',
  );
  // websocketd drops the connection when the program exits; wstcp closes it properly.
  assert.equal(theirs.code, 1006);
  assert.equal(ours.code, 1000);
});

test('shell and Python scripts that answer each message: the same replies', async (t) => {
  const urls = both(t);
  if (!urls) return;
  for (const script of ['echo.sh', 'greeter.py']) {
    const send = ['alice', 'bob smith', ''];
    const until = (m: readonly unknown[]) => m.length === send.length;
    const [theirs, ours]: [Conversation, Conversation] = await Promise.all([
      talk(`${urls.websocketd}/${script}`, { send, until }),
      talk(`${urls.wstcp}/${script}`, { send, until }),
    ]);
    assert.equal(theirs.texts.length, 3, script);
    assert.deepEqual(ours.texts, theirs.texts, script);
  }
});

function envOf(lines: readonly string[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of lines) {
    const eq = line.indexOf('=');
    env.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return env;
}

test('a script sees the same environment under both, but for the server and the connection', async (t) => {
  const urls = both(t);
  if (!urls) return;
  const path = '/env.sh/extra/p%20ath?x=1&y=two';
  const headers = { 'X-Custom-Header': 'custom value', Origin: 'http://example.org' };
  const [theirs, ours]: [Conversation, Conversation] = await Promise.all([
    talk(`${urls.websocketd}${path}`, { headers }),
    talk(`${urls.wstcp}${path}`, { headers }),
  ]);
  const a = envOf(theirs.texts);
  const b = envOf(ours.texts);
  // Different by nature: the server's name and version, its port, and each connection's own values.
  const perServer = ['SERVER_SOFTWARE', 'SERVER_PORT', 'UNIQUE_ID', 'REMOTE_PORT', 'HTTP_SEC_WEBSOCKET_KEY'];
  // websocketd 0.4.1 says websocketd-CGI/0.1; wstcp says CGI/1.1, as RFC 3875 and websocketd 0.5 do.
  const knownDifferences = ['GATEWAY_INTERFACE'];
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [name, value] of a) {
    if (perServer.includes(name) || knownDifferences.includes(name)) continue;
    assert.equal(b.get(name), value, name);
  }
  assert.equal(a.get('GATEWAY_INTERFACE'), 'websocketd-CGI/0.1');
  assert.equal(b.get('GATEWAY_INTERFACE'), 'CGI/1.1');
  assert.equal(b.get('SERVER_PORT'), String(wstcp.port));
  assert.match(b.get('SERVER_SOFTWARE')!, /^wstcp\//);
  assert.equal(b.get('PATH_INFO'), '/extra/p ath');
  assert.equal(b.get('HTTP_X_CUSTOM_HEADER'), 'custom value');
});

test('--dir routing: subdirectories, PATH_INFO and the query, as websocketd does', async (t) => {
  const urls = both(t);
  if (!urls) return;
  for (const path of ['/sub/where.sh', '/sub/where.sh/a/b?q=1', '/sub/where.sh/']) {
    const [theirs, ours]: [Conversation, Conversation] = await Promise.all([
      talk(`${urls.websocketd}${path}`),
      talk(`${urls.wstcp}${path}`),
    ]);
    assert.equal(theirs.texts.length, 1, path);
    assert.deepEqual(ours.texts, theirs.texts, path);
  }
});

test('--dir: missing scripts and directories are 404 on both', async (t) => {
  const urls = both(t);
  if (!urls) return;
  for (const path of ['/missing.sh', '/sub', '/sub/', '/', '/sub/missing/x']) {
    await assert.rejects(talk(`${urls.websocketd}${path}`), /HTTP 404/, `websocketd ${path}`);
    await assert.rejects(talk(`${urls.wstcp}${path}`), /HTTP 404/, `wstcp ${path}`);
  }
});

test('--dir: a file that is not executable is 404 on wstcp (websocketd answers 101, then drops)', async (t) => {
  const urls = both(t);
  if (!urls) return;
  const theirs = await talk(`${urls.websocketd}/plain.txt`);
  assert.deepEqual(theirs.texts, []);
  await assert.rejects(talk(`${urls.wstcp}/plain.txt`), /HTTP 404/);
});

function signals(name: string): { pid: number; seen: string[] } {
  const lines = readFileSync(join(logs, name), 'utf8').trim().split('\n');
  return { pid: Number(lines[0]!.split(' ')[1]), seen: lines.slice(1) };
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

test('teardown: a script that traps signals sees INT, then TERM, then is killed, on both', async (t) => {
  const urls = both(t);
  if (!urls) return;
  const until = (m: readonly unknown[]) => m.length === 1;
  await Promise.all([
    talk(`${urls.websocketd}/trap.sh?theirs`, { until }),
    talk(`${urls.wstcp}/trap.sh?ours`, { until }),
  ]);
  for (const name of ['theirs', 'ours']) {
    await eventually(
      () => existsSync(join(logs, name)) && !alive(signals(name).pid),
      `${name}: trap.sh gone`,
      5000,
    );
    assert.deepEqual(signals(name).seen, ['INT', 'TERM'], name);
  }
});

test('a program that never reads stdin: its output still arrives, and closing ends it', async (t) => {
  const urls = both(t);
  if (!urls) return;
  const send = ['one', 'two', 'three'];
  const until = (m: readonly unknown[]) => m.length >= 6;
  const [theirs, ours]: [Conversation, Conversation] = await Promise.all([
    talk(`${urls.websocketd}/noread.sh`, { send, until }),
    talk(`${urls.wstcp}/noread.sh`, { send, until }),
  ]);
  for (const conversation of [theirs, ours]) {
    assert.deepEqual(conversation.texts.slice(1, 6), ['tick 1', 'tick 2', 'tick 3', 'tick 4', 'tick 5']);
    const pid = Number(conversation.texts[0]!.split(' ')[1]);
    await eventually(() => !alive(pid), `noread.sh ${pid} gone`, 3000);
  }
});

test('a last line without a newline: wstcp delivers it, websocketd drops it', async (t) => {
  const urls = both(t);
  if (!urls) return;
  const [theirs, ours]: [Conversation, Conversation] = await Promise.all([
    talk(`${urls.websocketd}/lastline.sh`),
    talk(`${urls.wstcp}/lastline.sh`),
  ]);
  assert.deepEqual(theirs.texts, ['first']);
  assert.deepEqual(ours.texts, ['first', 'last without newline']);
});
