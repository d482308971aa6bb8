/**
 * A program the spawner started, as a Program (../program.ts): its stdin and stdout arrive as sockets
 * over the IPC channel, its stderr as messages written into a stream here, its exit as a report. Like
 * Node's ChildProcess, 'close' follows 'exit' once stdout and stderr have closed too.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { Program } from '../program.js';

export class RemoteProgram extends EventEmitter implements Program {
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly stderr = new PassThrough();
  private input: Writable | undefined;
  private output: Readable | undefined;
  private stdoutClosed = false;
  private stderrClosed = false;
  /** The spawner said stderr ended (or there is nobody left to say it). */
  private stderrEnded = false;
  private exited = false;

  /**
   * @param pid the program's process id (and process group id)
   * @param release called once if stderr is closed here before the spawner said it ended
   */
  constructor(
    readonly pid: number,
    stdin: Socket | undefined,
    private readonly release: () => void,
  ) {
    super();
    this.input = stdin ? stdin.on('error', () => {}) : closedPipe(0);
    this.stderr.once('close', () => {
      if (!this.stderrEnded) this.release();
      this.stderrClosed = true;
      this.maybeClose();
    });
  }

  get stdin(): Writable {
    return this.input!;
  }

  get stdout(): Readable {
    return this.output!;
  }

  /** Whether stdout has arrived (stdin comes first, with the pid). */
  get complete(): boolean {
    return this.output !== undefined;
  }

  /**
   * The program's stdout has arrived, or word that it closed before it could be passed on (`socket`
   * undefined; Node closes a child's stdin that way as soon as the child exits).
   */
  gotStdout(socket: Socket | undefined): void {
    const output = socket ?? closedPipe(1);
    this.output = output;
    output.once('close', () => {
      this.stdoutClosed = true;
      this.maybeClose();
    });
  }

  /** Bytes the program wrote to stderr (a latin1 string: one char per byte). */
  gotStderr(data: string): void {
    if (!this.stderr.destroyed) this.stderr.write(Buffer.from(data, 'latin1'));
  }

  /** The program's stderr has closed. */
  stderrEnd(): void {
    if (this.stderrEnded) return;
    this.stderrEnded = true;
    // Its 'close' comes once what it holds has been read: ProgramStream always reads it to the log.
    this.stderr.end();
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

  /** Closes everything that arrived (the program was not wanted after all, or its spawner died). */
  destroyPipes(): void {
    this.input?.destroy();
    this.output?.destroy();
    this.stderrEnded = true;
    this.stderr.destroy();
  }

  private maybeClose(): void {
    if (this.exited && this.stdoutClosed && this.stderrClosed) this.emit('close');
  }
}

/** A stand-in for a pipe that closed before it arrived: stdin takes nothing, stdout is empty. */
function closedPipe(fd: 0 | 1): PassThrough {
  const pipe = new PassThrough();
  if (fd === 0) pipe.destroy();
  else pipe.end();
  return pipe;
}
