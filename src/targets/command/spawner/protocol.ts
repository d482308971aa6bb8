/**
 * The messages between wstcp and a spawner process (Node's IPC channel, JSON). Each program has an id
 * that wstcp picks. For each `start` the spawner answers `failed`, or two `pipe` messages: the program's
 * stdin (with its pid) and its stdout, each with the socket passed along. Its stderr comes as `stderr`
 * messages then `stderr_end` (it only goes to the log: passing it as a third socket would cost wstcp
 * one more acknowledged handle per program), and `exit` comes once it is reaped. Node keeps the messages
 * of one channel in order, handles included.
 */

/** wstcp -> spawner: start a program (argv as given, no shell; PATH lookup in `env`). */
export interface StartRequest {
  readonly op: 'start';
  readonly id: number;
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** wstcp -> spawner: stop reading the program's stderr (wstcp no longer waits for it). */
export interface ReleaseRequest {
  readonly op: 'release';
  readonly id: number;
}

/** wstcp -> spawner: exit now (wstcp closes; its programs have ended). */
export interface ExitRequest {
  readonly op: 'exit';
}

export type SpawnerRequest = StartRequest | ReleaseRequest | ExitRequest;

export type SpawnerReply =
  | { readonly id: number; readonly event: 'pipe'; readonly fd: 0; readonly pid: number }
  | { readonly id: number; readonly event: 'pipe'; readonly fd: 1 }
  /** `data`: the bytes as a latin1 string (one char per byte). */
  | { readonly id: number; readonly event: 'stderr'; readonly data: string }
  | { readonly id: number; readonly event: 'stderr_end' }
  | {
      readonly id: number;
      readonly event: 'failed';
      readonly code: string | undefined;
      readonly message: string;
    }
  | {
      readonly id: number;
      readonly event: 'exit';
      readonly code: number | null;
      readonly signal: NodeJS.Signals | null;
    };
