// --record FILE: each session goes to FILE.N in noVNC's playback format. The file must be JavaScript that
// noVNC's playback page can load, its frames must decode back to exactly the bytes relayed both ways, and it
// must match what websockify writes for the same session (timestamps aside).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readdirSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { escapeFrame } from '../../src/observe/record.js';
import { closed, openClient, receive, startBridge, startTcpServer, waitFor } from '../helpers/bridge.js';
import { spawnWstcp } from '../helpers/process.js';
import { requireProgram } from '../helpers/programs.js';
import { tempDir } from '../helpers/tmp.js';
import { startWebsockify } from '../helpers/websockify.js';

/** Every byte value, quote and backslash included, plus a line break: the hard cases for the escaping. */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const GREETING = Buffer.concat([Buffer.from("RFB 003.008\n'\\"), ALL_BYTES]);
const CLIENT = Buffer.concat([ALL_BYTES.reverse(), Buffer.from("\r\n'x'")]);
const REPLY = Buffer.from('done\x00\xff');

interface Frame {
  readonly direction: 'toClient' | 'toTarget';
  readonly ms: number;
  readonly data: Buffer;
}

/** Loads a recording as noVNC does (a script defining VNC_frame_data) and decodes its frames. */
function parseRecording(text: string): Frame[] {
  const loaded = runInNewContext(`${text}\nVNC_frame_data`, {}) as unknown;
  assert.ok(Array.isArray(loaded), 'VNC_frame_data is an array');
  // Out of the script's realm, so that deepEqual compares plain arrays.
  const frames = Array.from(loaded as string[]);
  assert.equal(frames.at(-1), 'EOF', 'the last entry is EOF');
  return frames.slice(0, -1).map((frame: string) => {
    const marker = frame[0];
    assert.ok(marker === '{' || marker === '}', `frame starts with { or }: ${frame.slice(0, 10)}`);
    const end = frame.indexOf(marker, 1);
    const ms = Number(frame.slice(1, end));
    assert.ok(Number.isInteger(ms) && ms >= 0, 'milliseconds since the session opened');
    // noVNC's playback takes each character's code as one byte.
    const data = Buffer.from(frame.slice(end + 1), 'latin1');
    return { direction: marker === '{' ? 'toClient' : 'toTarget', ms, data };
  });
}

/** A target that greets, waits for the client's whole message, replies and closes. */
function scriptedTarget() {
  return startTcpServer((socket: Socket) => {
    socket.write(GREETING);
    let got = 0;
    socket.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got === CLIENT.length) socket.end(REPLY);
    });
  });
}

/** Runs the scripted session through a bridge at `url` and waits for the bridge's close. */
async function runSession(url: string): Promise<void> {
  const ws = await openClient(url);
  assert.deepEqual(await receive(ws, GREETING.length), GREETING);
  ws.send(CLIENT);
  assert.deepEqual(await receive(ws, REPLY.length), REPLY);
  assert.equal((await closed(ws)).code, 1000);
}

test('a recorded session is JavaScript whose frames decode to exactly the bytes relayed both ways', async (t) => {
  const dir = tempDir(t, 'wstcp-record-').dir;
  const target = await scriptedTarget();
  t.after(() => target.close());
  const wstcp = await spawnWstcp([
    '--run-once',
    '--record',
    join(dir, 'session'),
    '127.0.0.1:0',
    `127.0.0.1:${target.port}`,
  ]);
  t.after(() => wstcp.kill('SIGKILL'));
  await runSession(`ws://127.0.0.1:${wstcp.port}`);
  assert.equal(await wstcp.exited, 0);

  assert.deepEqual(readdirSync(dir), ['session.1']);
  const frames = parseRecording(readFileSync(join(dir, 'session.1'), 'latin1'));
  const toClient = frames.filter((f) => f.direction === 'toClient');
  const toTarget = frames.filter((f) => f.direction === 'toTarget');
  assert.deepEqual(Buffer.concat(toClient.map((f) => f.data)), Buffer.concat([GREETING, REPLY]));
  assert.deepEqual(Buffer.concat(toTarget.map((f) => f.data)), CLIENT);
  const times = frames.map((f) => f.ms);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
    'timestamps never go back',
  );
  const open = wstcp.lines.find((l) => l.event === 'session.open');
  assert.equal(open?.record, join(dir, 'session.1'));
});

test('sessions are numbered: FILE.1, FILE.2, ... one file each', async (t) => {
  const dir = tempDir(t, 'wstcp-record-').dir;
  const target = await scriptedTarget();
  t.after(() => target.close());
  const bridge = await startBridge(['--record', join(dir, 'rec'), '127.0.0.1:0', `127.0.0.1:${target.port}`]);
  t.after(() => bridge.close());
  await runSession(bridge.url);
  await runSession(bridge.url);
  await bridge.close();
  assert.deepEqual(readdirSync(dir).sort(), ['rec.1', 'rec.2']);
  for (const name of ['rec.1', 'rec.2']) {
    const frames = parseRecording(readFileSync(join(dir, name), 'latin1'));
    assert.equal(frames.filter((f) => f.direction === 'toTarget').length, 1);
  }
});

test('a recording that cannot be written is reported once; the session still works', async (t) => {
  const dir = tempDir(t, 'wstcp-record-').dir;
  const target = await scriptedTarget();
  t.after(() => target.close());
  const bridge = await startBridge([
    '--log-format',
    'json',
    '--record',
    join(dir, 'missing-directory', 'rec'),
    '127.0.0.1:0',
    `127.0.0.1:${target.port}`,
  ]);
  t.after(() => bridge.close());
  await runSession(bridge.url);
  await waitFor(() => bridge.bridge.sessions.size === 0, 5000, 'the session to end');
  // The file is opened on libuv's thread pool: on a busy machine its failure can come after the session.
  const failures = () => bridge.logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'record.failed');
  await waitFor(() => failures().length > 0, 5000, 'the record.failed line');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(failures().length, 1);
  assert.equal(failures()[0].session, 1);
});

test('a recording file that stops taking data is cut off: memory stays bounded, shutdown waits for it at most 5 s', async (t) => {
  const mkfifo = requireProgram(t, 'mkfifo', 'coreutils');
  if (!mkfifo) return;
  const dir = tempDir(t, 'wstcp-record-').dir;
  // A FIFO that is open but never read: once its pipe buffer is full, every write hangs, like a file on a
  // hung network file system.
  const fifo = join(dir, 'rec.1');
  execFileSync(mkfifo, [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  let readerOpen = true;
  const closeReader = () => {
    if (readerOpen) closeSync(reader);
    readerOpen = false;
  };
  t.after(closeReader);
  const size = 20 * 1024 * 1024;
  const target = await startTcpServer((socket) => socket.end(Buffer.alloc(size, 0x41)));
  t.after(() => target.close());
  const wstcp = await spawnWstcp([
    '--run-once',
    '--record',
    join(dir, 'rec'),
    '127.0.0.1:0',
    `127.0.0.1:${target.port}`,
  ]);
  t.after(() => wstcp.kill('SIGKILL'));
  const ws = await openClient(`ws://127.0.0.1:${wstcp.port}`);
  assert.equal((await receive(ws, size, 20000)).length, size, 'the session is not slowed by its recording');
  assert.equal((await closed(ws)).code, 1000);

  const at = (event: string) => wstcp.lines.find((l) => l.event === event);
  await waitFor(() => at('record.failed') !== undefined, 10000, 'the flush to give up');
  assert.ok(at('record.truncated'), 'the recording stopped once 16 MiB were queued');
  const waited =
    Date.parse(String(at('record.failed')!.time)) - Date.parse(String(at('bridge.stopping')!.time));
  assert.ok(waited >= 4500 && waited < 7000, `shutdown waited ${waited} ms for the recording`);
  // A thread stuck in write() would hold up the process exit itself (libuv joins its threads): release it.
  closeReader();
  assert.equal(await wstcp.exited, 0);
});

test("escapeFrame escapes like websockify: printable ASCII as is, \\t \\n \\r \\\\ \\' and \\xNN", () => {
  assert.equal(escapeFrame(Buffer.from("a'b\\c\t\n\r")), "a\\'b\\\\c\\t\\n\\r");
  assert.equal(
    escapeFrame(Buffer.from([0x00, 0x1f, 0x7f, 0x80, 0xff, 0x20, 0x7e])),
    '\\x00\\x1f\\x7f\\x80\\xff ~',
  );
});

test("the recording matches websockify's for the same session, timestamps aside", async (t) => {
  const dir = tempDir(t, 'wstcp-record-').dir;
  const target = await scriptedTarget();
  t.after(() => target.close());
  const websockify = await startWebsockify(t, {
    target: `127.0.0.1:${target.port}`,
    options: ['--record', join(dir, 'websockify')],
  });
  if (!websockify) return;
  const bridge = await startBridge([
    '--record',
    join(dir, 'wstcp'),
    '127.0.0.1:0',
    `127.0.0.1:${target.port}`,
  ]);
  t.after(() => bridge.close());

  await runSession(websockify.url);
  await runSession(bridge.url);
  await bridge.close();
  // websockify numbers every accepted connection (its readiness probe too) and finishes the file when its
  // per-connection process ends: wait for the recording that has frames and its EOF line.
  const theirs = (): string | undefined => {
    for (const name of readdirSync(dir).filter((n) => n.startsWith('websockify.'))) {
      const text = readFileSync(join(dir, name), 'latin1');
      if (text.includes("\n'{") && text.endsWith("'EOF'];\n")) return text;
    }
    return undefined;
  };
  await waitFor(() => theirs() !== undefined, 10000, "websockify's recording");
  const untimed = (text: string) => text.replace(/^'([{}])\d+\1/gm, "'$1T$1");
  assert.equal(untimed(readFileSync(join(dir, 'wstcp.1'), 'latin1')), untimed(theirs()!));
});
