/**
 * A program the spawner started, as a Program (../program.ts): its pipe ends arrive one by one over the
 * IPC channel, its exit is reported by the spawner. Like Node's ChildProcess, 'close' follows 'exit' once
 * stdout and stderr have closed too.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import type { Program } from '../program.js';

export class RemoteProgram extends EventEmitter implements Program {
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  private readonly pipes: (Socket | PassThrough | undefined)[] = [undefined, undefined, undefined];
  private pipesGot = 0;
  private openReaders = 2;
  private exited = false;

  constructor(readonly pid: number) {
    super();
  }

  get stdin(): Socket | PassThrough {
    return this.pipes[0]!;
  }

  get stdout(): Socket | PassThrough {
    return this.pipes[1]!;
  }

  get stderr(): Socket | PassThrough {
    return this.pipes[2]!;
  }

  /** Whether all three pipe ends have arrived. */
  get complete(): boolean {
    return this.pipesGot === 3;
  }

  /**
   * One pipe end has arrived (fd 0, 1 or 2 of the program), or word that it closed before it could be
   * passed on (`socket` undefined: Node closes a child's stdin as soon as the child exits).
   */
  gotPipe(fd: 0 | 1 | 2, socket: Socket | undefined): void {
    this.pipesGot++;
    if (!socket) {
      this.pipes[fd] = closedPipe(fd);
      if (fd !== 0) this.openReaders--;
      this.maybeClose();
      return;
    }
    this.pipes[fd] = socket;
    if (fd === 0) {
      // The program's stdin: only written; its end closes when the program's does.
      socket.on('error', () => {});
      return;
    }
    socket.once('close', () => {
      this.openReaders--;
      this.maybeClose();
    });
  }

  /** The spawner reaped the program (or is gone: `signal` then says how wstcp ended it). */
  reportExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return;
    this.exited = true;
    this.exitCode = code;
    this.signalCode = signal;
    this.emit('exit', code, signal);
    this.maybeClose();
  }

  /** Closes every pipe end that arrived (the program was not wanted after all). */
  destroyPipes(): void {
    for (const pipe of this.pipes) pipe?.destroy();
  }

  private maybeClose(): void {
    if (this.exited && this.openReaders === 0 && this.complete) this.emit('close');
  }
}

/** A stand-in for a pipe that closed before it arrived: stdin takes nothing, stdout and stderr are empty. */
function closedPipe(fd: 0 | 1 | 2): PassThrough {
  const pipe = new PassThrough();
  if (fd === 0) pipe.destroy();
  else pipe.end();
  return pipe;
}
