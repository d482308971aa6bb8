/**
 * Starting a program for a session: argv as given (no shell), stdin/stdout/stderr as pipes, in a process
 * group of its own so that teardown reaches everything it started (`sh -c 'a | b'`, background jobs).
 * Started here with Node's spawn(), or by a launcher's fork servers (spawner/), which keep the fork off
 * wstcp's event loop.
 *
 * The promise settles once the operating system has said whether the program runs: a missing or
 * non-executable program is an HTTP error for the handshake, not a 101 followed by a close.
 */
import { spawn } from 'node:child_process';
import { refuse } from '../../errors.js';
import type { Program } from './program.js';
import type { Spawner } from './spawner/spawner.js';

export interface StartOptions {
  /** The program and its arguments; a name without a slash is looked up on the PATH of `env`. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Aborted when the client leaves before the program has started: the program is killed again. */
  readonly signal?: AbortSignal;
  /** Starts the program in a fork server instead of here. */
  readonly spawner?: Spawner;
}

/**
 * Starts the program. Rejects with COMMAND_FAILED (500) when it cannot run (ENOENT, EACCES, ...) and
 * TOO_MANY_CONNECTIONS (503) when the bridge is out of descriptors or processes.
 */
export function startProgram(options: StartOptions): Promise<Program> {
  const [file, ...args] = options.argv;
  const { signal } = options;
  if (file === undefined) return Promise.reject(new Error('startProgram needs a program'));
  if (signal?.aborted)
    return Promise.reject(refuse('COMMAND_FAILED', 'client left before the program started'));
  if (options.spawner) return startRemote(options.spawner, file, args, options.env, signal);
  return new Promise((resolve, reject) => {
    // detached: the child calls setsid(), so it leads a new process group whose id is its pid.
    const child = spawn(file, args, { env: options.env, stdio: 'pipe', detached: true });
    const settle = (err?: Error) => {
      child.removeListener('spawn', onSpawn);
      child.removeListener('error', onError);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(child);
    };
    const onSpawn = () => settle();
    const onError = (err: NodeJS.ErrnoException) => settle(startError(err));
    const onAbort = () => {
      killGroup(child, 'SIGKILL');
      settle(refuse('COMMAND_FAILED', 'client left before the program started'));
    };
    child.once('spawn', onSpawn);
    child.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** startProgram through the fork servers: the same answers, the same kill when the client leaves first. */
async function startRemote(
  spawner: Spawner,
  file: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  signal: AbortSignal | undefined,
): Promise<Program> {
  let program: Program;
  try {
    program = await spawner.start(file, args, env);
  } catch (err) {
    throw startError(err as NodeJS.ErrnoException);
  }
  if (signal?.aborted) {
    killGroup(program, 'SIGKILL');
    for (const pipe of [program.stdin, program.stdout, program.stderr]) pipe.destroy();
    throw refuse('COMMAND_FAILED', 'client left before the program started');
  }
  return program;
}

/** The reason is shown to the client, so it names no path: the log line names the command. */
function startError(err: NodeJS.ErrnoException) {
  switch (err.code) {
    case 'ENOENT':
      return refuse('COMMAND_FAILED', 'the command was not found', { cause: err });
    case 'EACCES':
      return refuse('COMMAND_FAILED', 'the command is not executable', { cause: err });
    case 'EMFILE':
    case 'ENFILE':
    case 'EAGAIN':
      return refuse('TOO_MANY_CONNECTIONS', 'the bridge cannot start more programs now; try again later', {
        cause: err,
      });
    default:
      return refuse('COMMAND_FAILED', `the command cannot be started (${err.code ?? 'error'})`, {
        cause: err,
      });
  }
}

/**
 * Sends `signal` to the program's whole process group. Only while the program runs, or at once when its
 * exit is reported: Linux does not reuse a group id while a member is alive, but an empty group's id may
 * soon name someone else's. Returns false when nothing was signalled.
 */
export function killGroup(child: Pick<Program, 'pid'>, signal: NodeJS.Signals): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false;
  }
}
