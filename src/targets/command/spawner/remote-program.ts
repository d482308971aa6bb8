/**
 * A program a fork server started, as a Program (../program.ts): its stdin, stdout and stderr are its
 * connections to the program door, its exit comes as the fork server's report. Like Node's ChildProcess,
 * 'close' follows 'exit' once stdout and stderr have closed too.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Program } from '../program.js';

export class RemoteProgram extends EventEmitter implements Program {
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  private openOutputs = 2;
  private exited = false;

  /** @param pid the program's process id (and process group id) */
  constructor(
    readonly pid: number,
    readonly stdin: Socket,
    readonly stdout: Socket,
    readonly stderr: Socket,
  ) {
    super();
    // Only written to: what the program might write to its stdin is not read, and neither is its end.
    // (Every pipe already has the door's error listener.)
    (stdin as unknown as { _handle?: { readStop(): number } })._handle?.readStop();
    for (const output of [stdout, stderr]) {
      // An empty stderr may have ended and closed while the program's other pipes were on their way.
      if (output.closed) this.openOutputs--;
      else
        output.once('close', () => {
          this.openOutputs--;
          this.maybeClose();
        });
    }
  }

  /** The fork server reaped the program (or is gone: `signal` then says how wstcp ended it). */
  reportExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return;
    this.exited = true;
    this.exitCode = code;
    this.signalCode = signal;
    this.emit('exit', code, signal);
    this.maybeClose();
  }

  private maybeClose(): void {
    if (this.exited && this.openOutputs === 0) this.emit('close');
  }
}
