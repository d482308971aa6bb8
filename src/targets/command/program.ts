/**
 * A running program as the rest of the code sees it: its process id (its process group id too), its three
 * pipes, and 'exit' (code, signal) once it is reaped, then 'close' once its stdout and stderr have closed
 * as well. Node's ChildProcess is one; a program started through the spawner (spawner/) is the other.
 */
import type { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';

export interface Program extends EventEmitter {
  readonly pid?: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Set when the program has exited (one of the two is not null then). */
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
}
