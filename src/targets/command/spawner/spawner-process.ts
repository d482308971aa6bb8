/**
 * The spawner process: starts programs for the wstcp process that forked it and hands their pipes over.
 *
 * Why a process of its own: Node starts a child with fork(), whose cost grows with the parent's memory and
 * holds the parent's event loop meanwhile (about 1.4 ms per program for a bridge with 100 MB resident,
 * most of a session's cost). This process stays small and does the fork on the other core, while wstcp
 * only receives three sockets per program (docs/performance.md, "Command targets").
 *
 * It owns nothing for long: each program's pipe ends go to wstcp (Node closes its copies once they have
 * arrived), and its only state is the programs it still has to reap. wstcp signals programs itself (by
 * process group). It ends when wstcp does (the IPC channel closes); signals meant for the terminal's or the
 * service's process group are left to wstcp, which ends its programs the websocketd way first.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { SpawnerReply, StartRequest } from './protocol.js';

function reply(message: SpawnerReply, pipe?: object): void {
  // The pipes of a spawned child are sockets (libuv makes socket pairs), so Node can pass them on.
  process.send?.(message, pipe as Socket | undefined);
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
  // Node starts reading a child's stdout and stderr at once; what this process read would be lost when
  // the pipe is handed over (a pipe waits its turn there while earlier ones are acknowledged). Nothing
  // has been read yet: I/O runs only after this function returns.
  for (const pipe of [child.stdout, child.stderr]) stopReading(pipe);
  child.once('error', (err: NodeJS.ErrnoException) => {
    // After 'spawn', an error is about signalling or the pipes, which wstcp owns by then.
    if (child.pid === undefined) reply({ id, event: 'failed', code: err.code, message: err.message });
  });
  child.once('spawn', () => {
    reply({ id, event: 'started', pid: child.pid! });
    reply({ id, event: 'pipe', fd: 0 }, child.stdin);
    reply({ id, event: 'pipe', fd: 1 }, child.stdout);
    reply({ id, event: 'pipe', fd: 2 }, child.stderr);
  });
  child.once('exit', (code, signal) => reply({ id, event: 'exit', code, signal }));
}

/** Node has no public call for it: `pause()` leaves a socket's handle reading until its buffer is full. */
function stopReading(pipe: Readable): void {
  (pipe as unknown as { _handle?: { readStop(): number } })._handle?.readStop();
}

process.on('message', (message: StartRequest) => {
  if (message.op === 'start') start(message);
});
process.on('disconnect', () => process.exit(0));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
