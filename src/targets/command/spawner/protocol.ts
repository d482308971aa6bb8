/**
 * The messages between wstcp and its spawner process (Node's IPC channel, JSON). Each program has an id
 * that wstcp picks. For each `start` the spawner answers `failed`, or `started` followed by the program's
 * three pipe ends (one `pipe` message each, the socket passed with it), then `exit` once it is reaped.
 * Node keeps the messages of one channel in order, handles included.
 */

/** wstcp -> spawner: start a program (argv as given, no shell; PATH lookup in `env`). */
export interface StartRequest {
  readonly op: 'start';
  readonly id: number;
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export type SpawnerReply =
  | { readonly id: number; readonly event: 'started'; readonly pid: number }
  | { readonly id: number; readonly event: 'pipe'; readonly fd: 0 | 1 | 2 }
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
