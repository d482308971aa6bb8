// The spawner processes: a bridge's programs are forked there, not on the bridge's event loop. What they
// must not change (every first byte of output arrives) and what they own (their pipes, their own end).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import WebSocket from 'ws';
import { Logger } from '../../src/observe/log.js';
import { Spawner, SpawnFailure } from '../../src/targets/command/spawner/spawner.js';
import { startBridge } from '../helpers/bridge.js';
import { talk } from '../helpers/commands.js';
import { childrenOf, descendantsOf, eventually, groupMembers } from '../helpers/processes.js';

/** The spawners among this process's children: those running spawner-process.js. */
function spawners(): number[] {
  return childrenOf()
    .map((p) => p.pid)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('spawner-process.js');
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

test('programs are children of the spawner processes, which are children of the bridge', async (t) => {
  const before = new Set(spawners());
  const bridge = await startBridge(['--cmd', `sh -c 'echo $PPID'`, '127.0.0.1:0']);
  t.after(() => bridge.close());
  const mine = spawners().filter((pid) => !before.has(pid));
  assert.ok(mine.length >= 2, 'the spawners start with the bridge');
  const parents = await Promise.all(Array.from({ length: 8 }, () => talk(bridge.url)));
  for (const { texts } of parents) assert.ok(mine.includes(Number(texts[0])), `${texts[0]} is a spawner`);
  assert.ok(new Set(parents.map((p) => p.texts[0])).size >= 2, 'concurrent starts are spread');
});

test('output a program writes at once is never lost while its pipes are handed over', async (t) => {
  // Before the spawner stopped reading them, pipes that waited their turn lost what it had read.
  const bridge = await startBridge(['--cmd', `sh -c 'echo one; echo two; echo three'`, '127.0.0.1:0']);
  t.after(() => bridge.close());
  const conversations = await Promise.all(Array.from({ length: 40 }, () => talk(bridge.url)));
  for (const { texts } of conversations) assert.deepEqual(texts, ['one', 'two', 'three']);
});

test('the spawners keep none of the pipes they hand over', async (t) => {
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

test('a spawner that dies ends the sessions it started, and the next session gets a new one', async (t) => {
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

test('closing the bridge ends its spawners', async () => {
  const before = new Set(spawners());
  const bridge = await startBridge(['--cmd', 'cat', '127.0.0.1:0']);
  const mine = spawners().filter((pid) => !before.has(pid));
  await talk(bridge.url, { send: ['x'], until: (m) => m.length === 1 });
  await bridge.close();
  const alive = () => childrenOf().filter((p) => mine.includes(p.pid) && p.state !== 'Z');
  await eventually(() => alive().length === 0, 'the spawners gone');
});

test('stderr comes through the spawner whole and in order, and never to the client', async (t) => {
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

test('stderr held open by a process that left the group is let go, in the bridge and in the spawner', async (t) => {
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

test('a start sent to a spawner that has just died fails with ESPAWNER instead of crashing the bridge', async (t) => {
  // Before, the send's 'error' event (EPIPE, the channel closing) had no listener and ended wstcp.
  const lines: string[] = [];
  const log = new Logger({ level: 'debug', format: 'json', sink: (line) => lines.push(line) });
  const before = new Set(spawners());
  const spawner = new Spawner(log, 1);
  t.after(() => spawner.close());
  spawner.warm();
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
  // Wait without yielding to the event loop: the spawner is dead (a zombie) while this process has seen
  // neither its exit nor its channel's end, so the starts below write to a closed channel.
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
