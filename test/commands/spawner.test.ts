// The fork servers: a bridge's programs are forked there (fork-server.pl), not on the bridge's event loop,
// and connect their stdin, stdout and stderr to the bridge's program door. What they must not change
// (every first byte of output arrives) and what they own (nothing of a program's, their own end).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { Logger } from '../../src/observe/log.js';
import { ForkServer } from '../../src/targets/command/spawner/fork-server.js';
import { ProgramDoor } from '../../src/targets/command/spawner/program-door.js';
import { Spawner, SpawnFailure } from '../../src/targets/command/spawner/spawner.js';
import { startBridge } from '../helpers/bridge.js';
import { talk } from '../helpers/commands.js';
import { spawnWstcp } from '../helpers/process.js';
import { childrenOf, descendantsOf, eventually, groupMembers } from '../helpers/processes.js';

/** The fork servers among this process's children. */
function spawners(): number[] {
  return childrenOf()
    .map((p) => p.pid)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('fork-server.pl');
      } catch {
        return false;
      }
    });
}

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The spawners' open fds once no program of theirs is left (a program's stderr closes a bit after it). */
async function settledFds(count: () => number): Promise<number> {
  let last = count();
  for (let i = 0; i < 50; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = count();
    if (now === last) return now;
    last = now;
  }
  throw new Error('the spawners kept opening and closing fds');
}

test('programs are children of the fork servers, which are children of the bridge', async (t) => {
  const before = new Set(spawners());
  const bridge = await startBridge(['--cmd', `sh -c 'echo $PPID'`, '127.0.0.1:0']);
  t.after(() => bridge.close());
  const mine = spawners().filter((pid) => !before.has(pid));
  assert.ok(mine.length >= 2, 'the spawners start with the bridge');
  const parents = await Promise.all(Array.from({ length: 8 }, () => talk(bridge.url)));
  for (const { texts } of parents) assert.ok(mine.includes(Number(texts[0])), `${texts[0]} is a spawner`);
  assert.ok(new Set(parents.map((p) => p.texts[0])).size >= 2, 'concurrent starts are spread');
});

test('output a program writes at once is never lost while its pipes come through the door', async (t) => {
  // The first bytes of stdout follow the pipe's introduction line in the same read: they must stay.
  const bridge = await startBridge(['--cmd', `sh -c 'echo one; echo two; echo three'`, '127.0.0.1:0']);
  t.after(() => bridge.close());
  const conversations = await Promise.all(Array.from({ length: 40 }, () => talk(bridge.url)));
  for (const { texts } of conversations) assert.deepEqual(texts, ['one', 'two', 'three']);
});

test('the fork servers keep none of the pipes of their programs', async (t) => {
  const before = new Set(spawners());
  const bridge = await startBridge(['--cmd', 'cat', '127.0.0.1:0']);
  t.after(() => bridge.close());
  const mine = spawners().filter((pid) => !before.has(pid));
  const fds = () => mine.reduce((sum, pid) => sum + openFds(pid), 0);
  await talk(bridge.url, { send: ['warm'], until: (m) => m.length === 1 });
  const idle = await settledFds(fds);
  let done = 0;
  const worker = async () => {
    while (done < 60) {
      done++;
      await talk(bridge.url, { send: ['x'], until: (m) => m.length === 1 });
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  await eventually(() => bridge.bridge.sessions.size === 0, 'every session ended');
  await eventually(() => fds() === idle, `the spawners back to ${idle} fds`);
});

test('a fork server that dies ends the sessions it started, and the next session gets a new one', async (t) => {
  const before = new Set(spawners());
  const bridge = await startBridge(['--log-format', 'json', '--cmd', 'cat', '127.0.0.1:0']);
  t.after(() => bridge.close());
  const mine = spawners().filter((pid) => !before.has(pid));
  const ws = new WebSocket(bridge.url);
  const closed = new Promise<number>((resolve) => ws.once('close', resolve));
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send('still here?');
  await new Promise((resolve) => ws.once('message', resolve));
  const [cat] = descendantsOf().filter((p) => p.name === 'cat' && mine.includes(p.ppid));
  assert.ok(cat, 'cat runs under a spawner');
  process.kill(cat.ppid, 'SIGKILL');
  await closed;
  await eventually(() => groupMembers(cat.pid).length === 0, 'the orphaned cat killed');
  const lines = bridge.logs.map((line) => JSON.parse(line));
  assert.ok(lines.some((l) => l.event === 'command.spawner_exit' && l.signal === 'SIGKILL'));
  const { texts } = await talk(bridge.url, { send: ['again'], until: (m) => m.length === 1 });
  assert.deepEqual(texts, ['again']);
});

test('closing the bridge ends its fork servers', async () => {
  const before = new Set(spawners());
  const bridge = await startBridge(['--cmd', 'cat', '127.0.0.1:0']);
  const mine = spawners().filter((pid) => !before.has(pid));
  await talk(bridge.url, { send: ['x'], until: (m) => m.length === 1 });
  await bridge.close();
  const alive = () => childrenOf().filter((p) => mine.includes(p.pid) && p.state !== 'Z');
  await eventually(() => alive().length === 0, 'the spawners gone');
});

test('stderr comes through the door whole and in order, and never to the client', async (t) => {
  const bridge = await startBridge([
    '--log-format',
    'json',
    '--cmd',
    `sh -c 'seq 1 20000 >&2; echo done'`,
    '127.0.0.1:0',
  ]);
  t.after(() => bridge.close());
  const { texts } = await talk(bridge.url);
  assert.deepEqual(texts, ['done']);
  await eventually(
    () => bridge.logs.filter((line) => line.includes('command.stderr')).length === 20000,
    'every stderr line logged',
  );
  const lines = bridge.logs
    .map((line) => JSON.parse(line))
    .filter((line) => line.event === 'command.stderr')
    .map((line) => line.line);
  assert.deepEqual(
    lines,
    Array.from({ length: 20000 }, (_, i) => String(i + 1)),
  );
});

test('stderr held open by a process that left the group is let go, and the fork servers hold nothing', async (t) => {
  const before = new Set(spawners());
  const bridge = await startBridge(['--cmd', `sh -c 'setsid sleep 30 & echo $!; sleep 0.3'`, '127.0.0.1:0']);
  t.after(() => bridge.close());
  const mine = spawners().filter((pid) => !before.has(pid));
  const fds = () => mine.reduce((sum, pid) => sum + openFds(pid), 0);
  const idle = await settledFds(fds);
  const { texts } = await talk(bridge.url);
  const sleeper = Number(texts[0]);
  t.after(() => {
    try {
      process.kill(sleeper, 'SIGKILL');
    } catch {}
  });
  await eventually(() => groupMembers(sleeper).length > 0, 'the sleeper leads a group of its own');
  await eventually(() => bridge.bridge.sessions.size === 0, 'the session ended');
  await eventually(() => fds() === idle, `the spawners back to ${idle} fds while the sleeper runs`);
  assert.ok(groupMembers(sleeper).length > 0, 'the sleeper still runs');
});

test('a start sent to a fork server that has just died fails with ESPAWNER instead of crashing the bridge', async (t) => {
  // Before, the write's 'error' event (EPIPE, the server's stdin closing) had no listener and ended wstcp.
  const lines: string[] = [];
  const log = new Logger({ level: 'debug', format: 'json', sink: (line) => lines.push(line) });
  const before = new Set(spawners());
  const spawner = new Spawner(log, 1);
  t.after(() => spawner.close());
  assert.ok(await spawner.warm());
  await eventually(() => spawners().some((pid) => !before.has(pid)), 'the spawner started');
  const [pid] = spawners().filter((p) => !before.has(p));
  // Wait until it listens: its first program starts.
  const first = await spawner.start('/bin/true', [], {});
  first.stderr.resume();
  first.stdout.resume();
  // A bridge's listening socket keeps its event loop running meanwhile; here a timer does.
  const alive = setInterval(() => {}, 1000);
  t.after(() => clearInterval(alive));
  process.kill(pid!, 'SIGKILL');
  // Wait without yielding to the event loop: the server is dead (a zombie) while this process has seen
  // neither its exit nor its pipes' end, so the starts below write to a closed pipe.
  const deadline = Date.now() + 5000;
  while (!readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z')) {
    assert.ok(Date.now() < deadline, 'the spawner died');
  }
  const attempts = await Promise.allSettled(
    Array.from({ length: 5 }, () => spawner.start('/bin/cat', [], {})),
  );
  for (const attempt of attempts) {
    if (attempt.status === 'rejected') {
      assert.ok(attempt.reason instanceof SpawnFailure);
      assert.equal(attempt.reason.code, 'ESPAWNER');
    } else {
      assert.fail('every start went to the dead spawner');
    }
  }
  assert.ok(lines.some((line) => line.includes('command.spawner_exit')));
});

/** The door's secret, as the fork server was given it. */
function doorSecret(pid: number): string {
  const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  return environ.find((v) => v.startsWith('WSTCP_FORK_SECRET='))!.slice('WSTCP_FORK_SECRET='.length);
}

/** The program door's socket path: the fork server's argument. */
function doorPath(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[2]!;
}

test('the program door closes and logs connections that do not bring the secret, and sessions go on', async (t) => {
  const before = new Set(spawners());
  const bridge = await startBridge(['--log-format', 'json', '--cmd', 'cat', '127.0.0.1:0']);
  t.after(() => bridge.close());
  const [server] = spawners().filter((pid) => !before.has(pid));
  const path = doorPath(server!);
  assert.equal(statSync(dirname(path)).mode & 0o777, 0o700, 'the door is in a private directory');
  const strangers = [
    `${'0'.repeat(32)} 0000000001 1\n`, // the wrong secret for a program that is not even expected
    'GET / HTTP/1.1\r\nHost: x\r\n\r\n'.padEnd(46, ' '),
    'short', // used to throw in timingSafeEqual (lengths differ) and end the bridge
  ];
  for (const line of strangers) {
    const socket = connect(path);
    socket.on('error', () => {});
    socket.write(line);
    // A short line ends its connection: read as the rest of the stream, it is shorter than a line.
    if (line.length < 46) socket.end();
    const ended = await Promise.race([
      once(socket, 'close').then(() => 'closed'),
      new Promise<string>((resolve) => setTimeout(() => resolve('open'), 3000)),
    ]);
    assert.equal(ended, 'closed', `closed after ${JSON.stringify(line)}`);
  }
  const refusals = bridge.logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'command.door_refused');
  assert.equal(refusals.length, strangers.length);
  for (const line of bridge.logs)
    assert.ok(!line.includes(doorSecret(server!)), 'the secret is never logged');
  const { texts } = await talk(bridge.url, { send: ['after'], until: (m) => m.length === 1 });
  assert.deepEqual(texts, ['after']);
});

test('closing the bridge removes the door and its private directory', async () => {
  const before = new Set(spawners());
  const bridge = await startBridge(['--cmd', 'cat', '127.0.0.1:0']);
  const [server] = spawners().filter((pid) => !before.has(pid));
  const path = doorPath(server!);
  assert.ok(existsSync(path));
  await bridge.close();
  assert.equal(existsSync(dirname(path)), false);
});

test('without perl on its PATH, wstcp starts programs itself, and says so', async (t) => {
  const wstcp = await spawnWstcp(['--binary', '--cmd', '/bin/cat', '127.0.0.1:0'], 20000, {
    ...process.env,
    PATH: '/nonexistent',
  });
  t.after(() => wstcp.kill());
  assert.ok(wstcp.lines.some((line) => line.event === 'command.spawner_unavailable'));
  const { messages } = await talk(`ws://127.0.0.1:${wstcp.port}/`, {
    send: [Buffer.from('bytes')],
    until: (m) => m.length === 1,
  });
  assert.equal(messages[0]?.data.toString(), 'bytes');
  const children = childrenOf(wstcp.child.pid!);
  assert.ok(!children.some((p) => p.name === 'perl'), 'no fork server');
});

test('a wstcp killed with SIGKILL leaves no door behind: its fork servers take it with them', async () => {
  const wstcp = await spawnWstcp(['--cmd', 'cat', '127.0.0.1:0']);
  const [server] = childrenOf(wstcp.child.pid!).filter((p) => p.name === 'perl');
  assert.ok(server, 'a fork server runs');
  const path = doorPath(server.pid);
  assert.ok(existsSync(path));
  wstcp.kill('SIGKILL');
  await wstcp.exited;
  await eventually(() => !existsSync(dirname(path)), 'the door directory removed');
  const gone = () => {
    try {
      return readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
    } catch {
      return true;
    }
  };
  await eventually(gone, 'the fork server gone');
});

test('programs that exit before their start is complete still end their sessions', async (t) => {
  // A program that exits at once may be reaped, and its empty stderr closed, before the fork server's
  // "started" answer or its last pipe arrives: the session used to wait for a 'close' that had passed.
  const bridge = await startBridge(['--cmd', 'true', '127.0.0.1:0']);
  t.after(() => bridge.close());
  for (let round = 0; round < 5; round++) {
    const conversations = await Promise.all(Array.from({ length: 40 }, () => talk(bridge.url)));
    for (const { code, texts } of conversations) {
      assert.equal(code, 1000);
      assert.deepEqual(texts, []);
    }
  }
});

test('a fork server whose perl cannot be started fails its starts with ESPAWNER', async (t) => {
  // Without the 'error' handling, no 'exit' ever comes for a process that never ran: the start hung.
  const lines: string[] = [];
  const log = new Logger({ level: 'debug', format: 'json', sink: (line) => lines.push(line) });
  const door = await ProgramDoor.open(log);
  t.after(() => door.close());
  const server = new ForkServer('/nonexistent/perl', door, log);
  t.after(() => server.close());
  await assert.rejects(server.start(1, '/bin/cat', [], {}), (err: SpawnFailure) => err.code === 'ESPAWNER');
  assert.ok(lines.some((line) => line.includes('command.spawner_exit')));
});

test('a %00 in the path cannot add variables to the program environment: the start is refused', async (t) => {
  // PATH_INFO holds the decoded path, and NUL separates the fork server's fields: before the check,
  // `/x%00INJECTED=yes` gave the program INJECTED=yes (LD_PRELOAD would have done as well).
  const bridge = await startBridge(['--cmd', `sh -c 'echo "[$INJECTED]"'`, '127.0.0.1:0']);
  t.after(() => bridge.close());
  await assert.rejects(talk(`${bridge.url}/x%00INJECTED=yes`), /HTTP 500/);
  assert.deepEqual((await talk(`${bridge.url}/x`)).texts, ['[]']);
});

test('programs start with no signal ignored (SIGPIPE included) or blocked, whatever the fork server does', async (t) => {
  // The fork server ignores SIGPIPE so that answering a wstcp that is gone fails instead of killing it;
  // an ignored signal survives exec, and a program that writes to a closed pipe must still die of it.
  const bridge = await startBridge(['--cmd', `grep -E '^Sig(Blk|Ign)' /proc/self/status`, '127.0.0.1:0']);
  t.after(() => bridge.close());
  const texts = (await Promise.all(Array.from({ length: 10 }, () => talk(bridge.url)))).map((c) => c.texts);
  for (const lines of texts)
    assert.deepEqual(lines, ['SigBlk:\t0000000000000000', 'SigIgn:\t0000000000000000']);
});
