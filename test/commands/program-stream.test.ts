// A program as a target stream, with real processes: text and binary output, stdin, stderr to the log,
// backpressure both ways, and start failures reported as HTTP errors.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { HttpError } from '../../src/errors.js';
import { Logger } from '../../src/observe/log.js';
import { type ProgramSettings, ProgramStream } from '../../src/targets/command/program-stream.js';
import { startProgram } from '../../src/targets/command/spawn.js';
import { RecordingOwner, writeScript } from '../helpers/commands.js';
import { eventually, groupMembers } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

function settings(overrides: Partial<ProgramSettings> = {}, lines: string[] = []): ProgramSettings {
  const log = new Logger({ level: 'debug', format: 'json', sink: (line) => lines.push(line) });
  return { binary: false, closeMs: 0, maxLineBytes: 1024 * 1024, log, ...overrides };
}

async function run(argv: string[], options: Partial<ProgramSettings> = {}, logs: string[] = []) {
  const child = await startProgram({ argv, env: ENV });
  const stream = new ProgramStream(child, settings(options, logs));
  const owner = new RecordingOwner();
  stream.attach(owner);
  return { child, stream, owner };
}

test('text mode: each stdout line is one text message, a last line without newline included', async () => {
  const { owner } = await run(['sh', '-c', 'printf "one\\ntwo\\r\\n\\nthree"']);
  await owner.closed;
  assert.deepEqual(owner.texts, ['one', 'two', '', 'three']);
  assert.ok(owner.received.every((r) => r.bytes === 'text'));
  assert.ok(owner.ended);
});

test('text mode: each client message reaches stdin followed by a newline', async () => {
  const { stream, owner } = await run(['cat']);
  stream.write(Buffer.from('hel'));
  stream.write(Buffer.from('lo'));
  stream.messageEnd();
  stream.write(Buffer.from('world'));
  stream.messageEnd();
  await eventually(() => owner.received.length === 2, 'two lines back');
  assert.deepEqual(owner.texts, ['hello', 'world']);
  stream.end();
  await owner.closed;
});

test('binary mode: bytes pass unchanged both ways, with no newline added', async () => {
  const { stream, owner } = await run(['cat'], { binary: true });
  assert.equal(stream.wantsMessageEnds, false);
  const payload = Buffer.from([0, 1, 2, 10, 13, 255, 10]);
  stream.write(payload);
  await eventually(() => Buffer.concat(owner.received.map((r) => r.data)).length === payload.length, 'echo');
  assert.deepEqual(Buffer.concat(owner.received.map((r) => r.data)), payload);
  assert.ok(owner.received.every((r) => r.bytes === 'given'));
  stream.end();
  await owner.closed;
});

test('stderr goes to the log line by line, never to the client', async () => {
  const logs: string[] = [];
  const { owner, child } = await run(
    ['sh', '-c', 'echo out; echo "err one" >&2; printf "err two" >&2'],
    {},
    logs,
  );
  await owner.closed;
  assert.deepEqual(owner.texts, ['out']);
  const stderr = logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'command.stderr');
  assert.deepEqual(
    stderr.map((l) => l.line),
    ['err one', 'err two'],
  );
  assert.ok(stderr.every((l) => l.pid === child.pid));
});

test('a missing program is COMMAND_FAILED (500) before anything is sent', async () => {
  await assert.rejects(startProgram({ argv: ['/nonexistent/program'], env: ENV }), (err: HttpError) => {
    assert.ok(err instanceof HttpError);
    assert.equal(err.code, 'WSTCP_COMMAND_FAILED');
    assert.equal(err.status, 500);
    return true;
  });
});

test('a file without execute permission is COMMAND_FAILED (500)', async (t) => {
  const dir = tempDir(t).dir;
  const script = writeScript(dir, 'noexec.sh', '#!/bin/sh\necho hi\n', 0o644);
  await assert.rejects(startProgram({ argv: [script], env: ENV }), { code: 'WSTCP_COMMAND_FAILED' });
});

test('the program runs with exactly the environment given', async () => {
  const child = await startProgram({ argv: ['env'], env: { ONLY: 'this', PATH: ENV.PATH } });
  const stream = new ProgramStream(child, settings());
  const owner = new RecordingOwner();
  stream.attach(owner);
  await owner.closed;
  assert.deepEqual(owner.texts.sort(), [`PATH=${ENV.PATH}`, 'ONLY=this'].sort());
});

test('a client that stops reading pauses stdout: the program blocks, memory stays bounded', async () => {
  // The program writes 64 MiB; the "client" takes 1 MiB and then pauses, as a session does when its
  // client's queue is full. Nothing beyond the pipe and one read may pile up.
  const { stream, owner, child } = await run(['head', '-c', String(64 * 1024 * 1024), '/dev/zero'], {
    binary: true,
  });
  let taken = 0;
  owner.onData = (data) => {
    taken += data.length;
    if (taken >= 1024 * 1024) stream.pause();
  };
  await eventually(() => stream.paused, 'paused');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const heldBefore = taken;
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(taken, heldBefore, 'nothing more is read while paused');
  assert.ok(taken < 2 * 1024 * 1024, `read ${taken} bytes while the client was full`);
  assert.equal(child.exitCode, null, 'the program is blocked on its full pipe, still running');
  owner.onData = undefined;
  stream.resume();
  await owner.closed;
  assert.equal(
    owner.received.reduce((n, r) => n + r.data.length, 0),
    64 * 1024 * 1024,
  );
});

test('a program that never reads stdin: writes queue up for the session to see, drain never comes', async () => {
  const { stream, owner, child } = await run(['sleep', '30'], { binary: true });
  const chunk = Buffer.alloc(256 * 1024);
  for (let i = 0; i < 16; i++) stream.write(chunk);
  await new Promise((resolve) => setTimeout(resolve, 200));
  // The pipe takes a few hundred KiB at most; the rest waits where the session can measure it.
  assert.ok(stream.queuedBytes > 2 * 1024 * 1024, `queued ${stream.queuedBytes}`);
  assert.equal(owner.drains, 0);
  stream.destroy();
  await owner.closed;
  assert.notEqual(child.signalCode, null, 'it had to be signalled');
});

test('a program that exits leaves nothing running in its process group', async () => {
  // sh exits at once; the background sleep would hold stdout open and outlive the session.
  const { owner, child } = await run(['sh', '-c', 'sleep 30 & sleep 30 & echo started']);
  await owner.closed;
  assert.deepEqual(owner.texts, ['started']);
  await eventually(() => groupMembers(child.pid!).length === 0, 'the group is empty');
});

test('start is abandoned when the client left first', async () => {
  const gone = new AbortController();
  gone.abort();
  await assert.rejects(startProgram({ argv: ['cat'], env: ENV, signal: gone.signal }), {
    code: 'WSTCP_COMMAND_FAILED',
  });
});

test('output written before the session attached is delivered, in order', async () => {
  // As in a handshake: the stream is made as soon as the program runs, the session attaches after the 101.
  const child = await startProgram({ argv: ['sh', '-c', 'echo early; echo later'], env: ENV });
  const stream = new ProgramStream(child, settings());
  await once(child, 'exit');
  const owner = new RecordingOwner();
  stream.attach(owner);
  await owner.closed;
  assert.deepEqual(owner.texts, ['early', 'later']);
});

test('stderr written before the session attached is logged with its session number', async () => {
  // The bug: stderr was read from the start, so lines written before the 101 had no session.
  const lines: string[] = [];
  const child = await startProgram({ argv: ['sh', '-c', 'echo early problem >&2'], env: ENV });
  const stream = new ProgramStream(child, settings({}, lines));
  await once(child, 'exit');
  const owner = Object.assign(new RecordingOwner(), { id: 42 });
  stream.attach(owner);
  await owner.closed;
  const stderr = lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'command.stderr');
  assert.deepEqual(
    stderr.map((l) => [l.session, l.line]),
    [[42, 'early problem']],
  );
});
