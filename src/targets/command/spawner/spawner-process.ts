/**
 * The spawner process: starts programs for the wstcp process that forked it and hands their pipes over.
 *
 * Why a process of its own: Node starts a child with fork(), whose cost grows with the parent's memory and
 * holds the parent's event loop meanwhile (about 1.4 ms per program for a bridge with 100 MB resident,
 * most of a session's cost). This process stays small and does the fork on the other core, while wstcp
 * only receives two sockets per program (docs/performance.md, "Command targets").
 *
 * It owns little: a program's stdin and stdout go to wstcp (Node closes its copies once they have
 * arrived); its stderr is read here and sent on as messages until it closes or wstcp releases it; the
 * rest is the programs it still has to reap. wstcp signals programs itself (by process group). It ends when wstcp does (the IPC channel closes); signals meant for the terminal's or the
 * service's process group are left to wstcp, which ends its programs the websocketd way first.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { SpawnerReply, SpawnerRequest, StartRequest } from './protocol.js';

/** stderr bytes sent and not yet written to the channel before the program's stderr is paused. */
const MAX_UNSENT_STDERR = 64 * 1024;

/** The stderr of each program whose stderr is still read, by id (for `release`). */
const stderrs = new Map<number, Readable>();

function reply(message: SpawnerReply, pipe?: object, sent?: () => void): void {
  // wstcp is gone (or going): this process is about to exit, and nobody is left to tell.
  if (!process.connected) return;
  // The pipes of a spawned child are sockets (libuv makes socket pairs), so Node can pass them on.
  process.send?.(message, pipe as Socket | undefined, {}, sent);
}

function start(request: StartRequest): void {
  const { id } = request;
  let child: ChildProcessWithoutNullStreams;
  try {
    // detached: the child calls setsid(), so it leads a new process group whose id is its pid.
    child = spawn(request.file, [...request.args], { env: request.env, stdio: 'pipe', detached: true });
  } catch (err) {
    reply({ id, event: 'failed', code: (err as NodeJS.ErrnoException).code, message: String(err) });
    return;
  }
  // Node starts reading a child's stdout at once; what this process read would be lost when the pipe is
  // handed over (a pipe waits its turn there while earlier ones are acknowledged). Nothing has been read
  // yet: I/O runs only after this function returns.
  stopReading(child.stdout);
  child.once('error', (err: NodeJS.ErrnoException) => {
    // After 'spawn', an error is about signalling or the pipes, which wstcp owns by then.
    if (child.pid === undefined) reply({ id, event: 'failed', code: err.code, message: err.message });
  });
  child.once('spawn', () => {
    reply({ id, event: 'pipe', fd: 0, pid: child.pid! }, child.stdin);
    reply({ id, event: 'pipe', fd: 1 }, child.stdout);
    forwardStderr(id, child.stderr);
  });
  child.once('exit', (code, signal) => reply({ id, event: 'exit', code, signal }));
}

/** Sends what the program writes to stderr, pausing it while too much waits to be written to wstcp. */
function forwardStderr(id: number, stderr: Readable): void {
  stderrs.set(id, stderr);
  let unsent = 0;
  stderr.on('data', (chunk: Buffer) => {
    unsent += chunk.length;
    reply({ id, event: 'stderr', data: chunk.toString('latin1') }, undefined, () => {
      unsent -= chunk.length;
      if (unsent <= MAX_UNSENT_STDERR && stderr.isPaused()) stderr.resume();
    });
    if (unsent > MAX_UNSENT_STDERR) stderr.pause();
  });
  stderr.on('error', () => {});
  // 'close' also comes when wstcp released it (destroy() emits no 'end').
  stderr.once('close', () => {
    stderrs.delete(id);
    reply({ id, event: 'stderr_end' });
  });
}

/** Node has no public call for it: `pause()` leaves a socket's handle reading until its buffer is full. */
function stopReading(pipe: Readable): void {
  (pipe as unknown as { _handle?: { readStop(): number } })._handle?.readStop();
}

process.on('message', (message: SpawnerRequest) => {
  if (message.op === 'start') start(message);
  else if (message.op === 'release') stderrs.get(message.id)?.destroy();
  else if (message.op === 'exit') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
// A channel that closes while a pipe waits for its acknowledgement never says 'disconnect' (Node waits
// for the acknowledgement first): if wstcp died meanwhile, this process has been given to another parent.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1000).unref();
// A send that raced the channel's closing: the 'disconnect' above ends this process.
process.on('error', () => {});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
