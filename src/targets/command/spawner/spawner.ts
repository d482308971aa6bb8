/**
 * The fork servers of one command launcher and their program door: started with it, closed with it. Each
 * start goes to the least busy server. A server forks one program at a time (it waits until the program
 * has exec'd), so a few of them let starts overlap, while wstcp's own event loop never forks
 * (docs/performance.md, "Command targets").
 *
 * Without Perl, or without a private directory for the door, there are no servers: warm() says so and
 * the launcher starts programs itself with Node's spawn(), slower but the same for the program.
 */
import { availableParallelism } from 'node:os';
import type { Logger } from '../../../observe/log.js';
import { findExecutable } from '../find-executable.js';
import { ForkServer, SpawnFailure } from './fork-server.js';
import { ProgramDoor } from './program-door.js';
import type { RemoteProgram } from './remote-program.js';

export { SpawnFailure } from './fork-server.js';

/** Fork servers per launcher: one per core, at least two, at most four. */
const SERVERS = Math.min(4, Math.max(2, availableParallelism()));

export class Spawner {
  private servers: readonly ForkServer[] = [];
  private door: ProgramDoor | undefined;
  /** Where the search for the least busy server begins: ties go round, so every server stays warm. */
  private turn = 0;
  private nextId = 0;

  constructor(
    private readonly log: Logger,
    private readonly count = SERVERS,
  ) {}

  /**
   * Opens the door and starts the servers. False (with a warning) when programs have to be started in
   * wstcp instead: no `perl` on wstcp's PATH, or no private directory for the door.
   */
  async warm(): Promise<boolean> {
    const unavailable = (why: string) => {
      const reason = `${why}: programs are started by wstcp itself, at a lower rate`;
      this.log.warn('command.spawner_unavailable', { reason });
      return false;
    };
    const perl = await findExecutable('perl', process.env.PATH ?? '');
    if (!perl) return unavailable('perl was not found on PATH');
    try {
      this.door = await ProgramDoor.open(this.log);
    } catch (err) {
      return unavailable(
        `no private socket for programs (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      );
    }
    const door = this.door;
    this.servers = Array.from({ length: this.count }, () => new ForkServer(perl, door, this.log));
    for (const server of this.servers) server.warm();
    return true;
  }

  /** Starts `file` with `args` and `env`; rejects with SpawnFailure when it cannot run. */
  start(
    file: string,
    args: readonly string[],
    env: Readonly<Record<string, string>>,
  ): Promise<RemoteProgram> {
    const { servers } = this;
    if (servers.length === 0) return Promise.reject(new SpawnFailure('no fork server runs', 'ESPAWNER'));
    this.turn = (this.turn + 1) % servers.length;
    let least = servers[this.turn]!;
    for (let i = 1; i < servers.length; i++) {
      const server = servers[(this.turn + i) % servers.length]!;
      if (server.starting < least.starting) least = server;
    }
    return least.start(++this.nextId, file, args, env);
  }

  /** Programs still running are the launcher's to stop first; this ends the servers and the door. */
  close(): void {
    for (const server of this.servers) server.close();
    this.door?.close();
    this.door = undefined;
  }
}
