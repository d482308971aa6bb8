/**
 * One fork server (fork-server.pl) as wstcp sees it: the programs it is starting or has started, and its
 * answers. Started on first use and again after it died; ended by close().
 *
 * A start is done when the server said "started" (the program has exec'd) and the program's three pipes
 * have come through the door, in whichever order. If the server dies (it should not: it only forks),
 * programs still starting fail, and running ones are killed, since nobody could report their exit any
 * more; they are reported as ended by SIGKILL, so their sessions close.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import type { Logger } from '../../../observe/log.js';
import { readLines } from '../line-splitter.js';
import { killGroup } from '../spawn.js';
import type { ProgramDoor, StdioFd } from './program-door.js';
import { RemoteProgram } from './remote-program.js';

/** The script ships as source next to this module's source (package.json "files"). */
const SCRIPT = fileURLToPath(
  new URL('../../../../../src/targets/command/spawner/fork-server.pl', import.meta.url),
);

/** Why a program could not be started (`code` as in Node's spawn errors: ENOENT, EACCES, ...). */
export class SpawnFailure extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

interface Entry {
  pid: number | undefined;
  readonly pipes: (Socket | undefined)[];
  program: RemoteProgram | undefined;
  /** An exit reported before the program was handed out. */
  exit: [number | null, NodeJS.Signals | null] | undefined;
  resolve(program: RemoteProgram): void;
  reject(err: Error): void;
}

type ServerProcess = ChildProcessByStdio<Writable, Readable, null>;

export class ForkServer {
  private process: ServerProcess | undefined;
  private readonly entries = new Map<number, Entry>();
  private closed = false;
  /** Programs asked for and not yet started (or failed): how busy this server is. */
  starting = 0;

  constructor(
    private readonly perl: string,
    private readonly door: ProgramDoor,
    private readonly log: Logger,
  ) {}

  /** Starts the process now rather than at the first start (so that the first session does not wait). */
  warm(): void {
    this.server();
  }

  /** Starts `file` (a path, or a name looked up on `env`'s PATH) with `args` and `env`; `id` is unique. */
  start(
    id: number,
    file: string,
    args: readonly string[],
    env: Readonly<Record<string, string>>,
  ): Promise<RemoteProgram> {
    if (this.closed) return Promise.reject(new SpawnFailure('the bridge is closing', undefined));
    // NUL separates the request's fields: one inside a value (a client's `%00` in PATH_INFO) would add
    // variables of the client's choosing. The kernel could not pass it anyway (Node's spawn refuses it too).
    if (!fitsRequest(file, args, env)) {
      return Promise.reject(new SpawnFailure('an argument or variable holds a NUL byte', 'EINVAL'));
    }
    const server = this.server();
    this.starting++;
    return new Promise((resolve, reject) => {
      const entry: Entry = {
        pid: undefined,
        pipes: [],
        program: undefined,
        exit: undefined,
        resolve,
        reject,
      };
      this.entries.set(id, entry);
      this.door.expect(id, (fd, socket) => this.pipeArrived(id, fd, socket));
      this.holdLoop();
      server.stdin.write(request(id, file, args, env));
    });
  }

  /** Programs still running are the launcher's to stop first; this ends the process itself. */
  close(): void {
    this.closed = true;
    const server = this.process;
    this.process = undefined;
    server?.stdin.end();
  }

  private server(): ServerProcess {
    if (this.process) return this.process;
    const child = spawn(this.perl, [SCRIPT, this.door.path], {
      // It starts programs with the environment of each request; it needs none of its own.
      env: { WSTCP_FORK_SECRET: this.door.secret },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.process = child;
    readLines(child.stdout, (line) => this.answer(line.split(' ')));
    child.stdin.on('error', () => {});
    child.once('exit', (code, signal) => this.serverExited(child, code, signal));
    child.on('error', (err) => {
      this.log.debug('command.spawner_error', { error: err.message });
      // Perl could not be started at all (removed since startup?): no 'exit' will come.
      if (child.pid === undefined) this.serverExited(child, null, null);
    });
    child.unref();
    this.holdLoop();
    return child;
  }

  /** The process keeps the event loop alive only while programs run: an idle server never holds wstcp. */
  private holdLoop(): void {
    const output = this.process?.stdout as Socket | undefined;
    if (this.entries.size > 0) output?.ref();
    else output?.unref();
  }

  private answer([what, idText, a, b]: string[]): void {
    const id = Number(idText);
    const entry = this.entries.get(id);
    if (!entry) return;
    if (what === 'started') {
      entry.pid = Number(a);
      this.maybeReady(id, entry);
    } else if (what === 'failed') {
      this.forget(id);
      this.starting--;
      for (const pipe of entry.pipes) pipe?.destroy();
      const code = errnoName(Number(a));
      entry.reject(new SpawnFailure(`spawn ${code ?? `errno ${a}`}`, code));
    } else if (what === 'exited') {
      const code = a === '-' ? null : Number(a);
      const signal = b === '-' ? null : signalName(Number(b));
      if (entry.program) {
        this.forget(id);
        reportLater(entry.program, code, signal);
      } else {
        entry.exit = [code, signal];
      }
    }
  }

  private pipeArrived(id: number, fd: StdioFd, socket: Socket): void {
    const entry = this.entries.get(id);
    if (!entry || entry.pipes[fd]) {
      socket.destroy();
      return;
    }
    entry.pipes[fd] = socket;
    this.maybeReady(id, entry);
  }

  private maybeReady(id: number, entry: Entry): void {
    const [stdin, stdout, stderr] = entry.pipes;
    if (entry.pid === undefined || !stdin || !stdout || !stderr) return;
    this.door.forget(id);
    this.starting--;
    const program = new RemoteProgram(entry.pid, stdin, stdout, stderr);
    entry.program = program;
    entry.resolve(program);
    if (entry.exit) {
      this.forget(id);
      reportLater(program, ...entry.exit);
    }
  }

  private forget(id: number): void {
    this.entries.delete(id);
    this.door.forget(id);
    this.holdLoop();
  }

  private serverExited(child: ServerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.process === child) this.process = undefined;
    if (this.closed && this.entries.size === 0) return;
    this.log.error('command.spawner_exit', { code, signal, programs: this.entries.size });
    const entries = [...this.entries];
    this.entries.clear();
    this.starting = 0;
    for (const [id, entry] of entries) {
      this.door.forget(id);
      const { program, pid } = entry;
      if (pid !== undefined) killGroup({ pid }, 'SIGKILL');
      if (program) {
        program.reportExit(null, 'SIGKILL');
      } else {
        for (const pipe of entry.pipes) pipe?.destroy();
        entry.reject(new SpawnFailure('the program launcher stopped', 'ESPAWNER'));
      }
    }
    this.holdLoop();
  }
}

/**
 * Reports an exit once whoever awaits the start has had its turn to listen for it: the start's promise
 * settles in a microtask, and the exit may be in the same read as the "started" answer.
 */
function reportLater(program: RemoteProgram, code: number | null, signal: NodeJS.Signals | null): void {
  setImmediate(() => program.reportExit(code, signal));
}

/** Whether every field can travel NUL-separated (and every variable name is one). */
function fitsRequest(file: string, args: readonly string[], env: Readonly<Record<string, string>>): boolean {
  if (file.includes('\0') || args.some((arg) => arg.includes('\0'))) return false;
  return Object.entries(env).every(
    ([name, value]) => name !== '' && !name.includes('=') && !name.includes('\0') && !value.includes('\0'),
  );
}

/** The request line of fork-server.pl: "<length>\n" and the fields, NUL-separated. */
function request(
  id: number,
  file: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): string {
  const variables = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  const fields = [String(id).padStart(10, '0'), file, String(args.length), ...args];
  fields.push(String(variables.length), ...variables);
  const payload = fields.join('\0');
  return `${Buffer.byteLength(payload)}\n${payload}`;
}

const SIGNAL_NAMES = new Map(
  Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
);

/** ENOENT for 2: the fork server reports errno as the number. */
function errnoName(errno: number): string | undefined {
  return Number.isInteger(errno) && errno > 0 ? getSystemErrorName(-errno) : undefined;
}

function signalName(signal: number): NodeJS.Signals | null {
  return SIGNAL_NAMES.get(signal) ?? null;
}
