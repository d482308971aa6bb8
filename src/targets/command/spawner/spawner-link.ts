/**
 * One spawner process (spawner-process.ts) as wstcp sees it: the programs it is starting or has started,
 * and its replies. Started on first use and again after it died; ended by close().
 *
 * If the process dies (it should not: it only forks), programs still starting fail, and running ones are
 * killed, since nobody could report their exit any more; they are reported as ended by SIGKILL, so their
 * sessions close.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../../observe/log.js';
import { killGroup } from '../spawn.js';
import type { SpawnerReply, SpawnerRequest, StartRequest } from './protocol.js';
import { RemoteProgram } from './remote-program.js';

const SPAWNER_MAIN = fileURLToPath(new URL('./spawner-process.js', import.meta.url));
/** The spawner's own heap stays small: a smaller process forks faster. */
const SPAWNER_NODE_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=64'];

/** Why a program could not be started, as the spawner reported it (`code` as in Node's spawn errors). */
export class SpawnFailure extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

interface Entry {
  program: RemoteProgram | undefined;
  /** The spawner has reported the exit / the end of stderr: the entry goes once both came. */
  exited: boolean;
  stderrEnded: boolean;
  resolve(program: RemoteProgram): void;
  reject(err: Error): void;
}

export class SpawnerLink {
  private process: ChildProcess | undefined;
  private readonly entries = new Map<number, Entry>();
  private nextId = 0;
  private closed = false;
  /** Programs asked for and not yet started (or failed): how busy this spawner is. */
  starting = 0;

  constructor(private readonly log: Logger) {}

  /** Forks the process now rather than at the first start (so that the first session does not wait). */
  warm(): void {
    this.spawner();
  }

  start(
    file: string,
    args: readonly string[],
    env: Readonly<Record<string, string>>,
  ): Promise<RemoteProgram> {
    if (this.closed) return Promise.reject(new SpawnFailure('the bridge is closing', undefined));
    const spawner = this.spawner();
    const id = ++this.nextId;
    this.starting++;
    return new Promise((resolve, reject) => {
      this.entries.set(id, { program: undefined, exited: false, stderrEnded: false, resolve, reject });
      this.holdLoop();
      const request: StartRequest = { op: 'start', id, file, args, env };
      spawner.send(request);
    });
  }

  /** Programs still running are the launcher's to stop first; this ends the process itself. */
  close(): void {
    this.closed = true;
    const spawner = this.process;
    this.process = undefined;
    if (!spawner?.connected) return;
    // Asked rather than disconnected: a spawner whose last pipe waits to be acknowledged would not see
    // the channel close. The channel closes once the request is written.
    spawner.send({ op: 'exit' } satisfies SpawnerRequest, () => {
      if (spawner.connected) spawner.disconnect();
    });
  }

  private spawner(): ChildProcess {
    if (this.process) return this.process;
    const child = fork(SPAWNER_MAIN, [], {
      execArgv: SPAWNER_NODE_FLAGS,
      // It starts programs with the environment of each request; it needs none of its own.
      env: {},
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'json',
    });
    this.process = child;
    child.on('message', (message: SpawnerReply, pipe?: Socket) => this.onReply(message, pipe));
    child.once('exit', (code, signal) => this.spawnerExited(child, code, signal));
    // A send to a spawner that has just died (its 'exit' not seen yet): what waits on it fails at 'exit'.
    child.on('error', (err) => this.log.debug('command.spawner_error', { error: err.message }));
    child.unref();
    this.holdLoop();
    return child;
  }

  /** The channel keeps the event loop alive only while programs run: an idle spawner never holds wstcp. */
  private holdLoop(): void {
    const channel = this.process?.channel;
    if (this.entries.size > 0) channel?.ref();
    else channel?.unref();
  }

  private onReply(message: SpawnerReply, pipe: Socket | undefined): void {
    const entry = this.entries.get(message.id);
    if (!entry) {
      pipe?.destroy();
      return;
    }
    switch (message.event) {
      case 'pipe':
        if (message.fd === 0) {
          entry.program = new RemoteProgram(message.pid, pipe, () => this.release(message.id));
        } else {
          entry.program!.gotStdout(pipe);
          this.starting--;
          entry.resolve(entry.program!);
        }
        break;
      case 'stderr':
        entry.program!.gotStderr(message.data);
        break;
      case 'stderr_end':
        entry.stderrEnded = true;
        entry.program!.stderrEnd();
        if (entry.exited) this.forget(message.id);
        break;
      case 'failed':
        this.forget(message.id);
        this.starting--;
        entry.reject(new SpawnFailure(message.message, message.code));
        break;
      case 'exit':
        entry.exited = true;
        if (entry.stderrEnded) this.forget(message.id);
        entry.program!.reportExit(message.code, message.signal);
        break;
    }
  }

  /** wstcp no longer waits for a program's stderr (it closed its end): the spawner stops reading it. */
  private release(id: number): void {
    if (this.entries.has(id)) this.process?.send({ op: 'release', id } satisfies SpawnerRequest);
  }

  private forget(id: number): void {
    this.entries.delete(id);
    this.holdLoop();
  }

  private spawnerExited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.process === child) this.process = undefined;
    if (this.closed && this.entries.size === 0) return;
    this.log.error('command.spawner_exit', { code, signal, programs: this.entries.size });
    const entries = [...this.entries.values()];
    this.entries.clear();
    this.starting = 0;
    for (const entry of entries) {
      const { program } = entry;
      if (!program?.complete) {
        program?.destroyPipes();
        if (program) killGroup(program, 'SIGKILL');
        entry.reject(new SpawnFailure('the program launcher stopped', 'ESPAWNER'));
      } else {
        killGroup(program, 'SIGKILL');
        program.stderrEnd();
        program.reportExit(null, 'SIGKILL');
      }
    }
  }
}
