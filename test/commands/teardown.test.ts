// Ending a program as websocketd does: stdin closed, then SIGINT, SIGTERM and SIGKILL at its intervals
// (100, 250 and 500 ms, each plus --close-ms), to the whole process group; nothing is left behind.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../../src/observe/log.js';
import { ProgramStream } from '../../src/targets/command/program-stream.js';
import { startProgram } from '../../src/targets/command/spawn.js';
import { stopProgram } from '../../src/targets/command/teardown.js';
import { RecordingOwner, writeScript } from '../helpers/commands.js';
import { eventually, groupMembers } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

/** A script that records each signal it gets (with the time since it started) and survives them. */
const TRAPPER = `#!/bin/sh
start=$(date +%s%N)
note() { echo "$1 $(( ($(date +%s%N) - start) / 1000000 ))" >> "$LOG"; }
trap 'note INT' INT
trap 'note TERM' TERM
echo ready
while :; do sleep 0.02; done
`;

async function startTrapper(t: { after(fn: () => void): void }) {
  const dir = tempDir(t).dir;
  const script = writeScript(dir, 'trapper.sh', TRAPPER);
  const log = join(dir, 'signals.log');
  const child = await startProgram({ argv: [script], env: { ...ENV, LOG: log } });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, exited, log };
}

function signalsIn(log: string): { name: string; ms: number }[] {
  return readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [name, ms] = line.split(' ');
      return { name: name!, ms: Number(ms) };
    });
}

test('a program that ignores stdin and traps INT and TERM gets them in order, then SIGKILL', async (t) => {
  const { child, exited, log } = await startTrapper(t);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = Date.now();
  const step = await stopProgram(child, exited, 0);
  const took = Date.now() - started;
  assert.equal(step, 'SIGKILL');
  assert.equal(child.signalCode, 'SIGKILL');
  assert.deepEqual(
    signalsIn(log).map((s) => s.name),
    ['INT', 'TERM'],
  );
  // SIGKILL comes after 100 + 250 + 500 ms.
  assert.ok(took >= 850 && took < 1500, `took ${took} ms`);
});

test('--close-ms is added to every wait', async (t) => {
  const { child, exited, log } = await startTrapper(t);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = Date.now();
  assert.equal(await stopProgram(child, exited, 200), 'SIGKILL');
  const took = Date.now() - started;
  // 300 + 450 + 700 ms.
  assert.ok(took >= 1450 && took < 2200, `took ${took} ms`);
  const [int, term] = signalsIn(log);
  assert.ok(term!.ms - int!.ms >= 400, `INT at ${int!.ms}, TERM at ${term!.ms}`);
});

test('a program that exits when stdin closes gets no signal at all', async () => {
  const child = await startProgram({ argv: ['cat'], env: ENV });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  assert.equal(await stopProgram(child, exited, 0), 'stdin');
  assert.equal(child.exitCode, 0);
});

test('a program that ignores stdin ends with SIGINT, as an interactive program would', async () => {
  const child = await startProgram({ argv: ['sleep', '30'], env: ENV });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  assert.equal(await stopProgram(child, exited, 0), 'SIGINT');
  assert.equal(child.signalCode, 'SIGINT');
});

test('the whole process group is signalled: no part of a pipeline survives', async () => {
  // websocketd signals only the shell; its `sleep | cat` would keep running.
  const child = await startProgram({ argv: ['sh', '-c', 'sleep 30 | cat; sleep 30'], env: ENV });
  const stream = new ProgramStream(child, {
    binary: false,
    closeMs: 0,
    maxLineBytes: 1024,
    log: silentLogger,
  });
  const owner = new RecordingOwner();
  stream.attach(owner);
  await eventually(() => groupMembers(child.pid!).length >= 3, 'the pipeline runs');
  stream.end();
  await owner.closed;
  await eventually(() => groupMembers(child.pid!).length === 0, 'the group is gone', 2000);
});
