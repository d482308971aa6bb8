/**
 * The spawner processes of one command launcher: started with it, closed with it. Each start goes to the
 * least busy one. Node's spawn() waits until the program has exec'd, so one spawner starts one program at
 * a time; a few of them let starts overlap while wstcp's own event loop never waits (docs/performance.md,
 * "Command targets").
 */
import { availableParallelism } from 'node:os';
import type { Logger } from '../../../observe/log.js';
import type { RemoteProgram } from './remote-program.js';
import { SpawnerLink } from './spawner-link.js';

export { SpawnFailure } from './spawner-link.js';

/** Spawner processes per launcher: one per core, at least two, at most four. */
const SPAWNERS = Math.min(4, Math.max(2, availableParallelism()));

export class Spawner {
  private readonly links: readonly SpawnerLink[];
  /** Where the search for the least busy spawner begins: ties go round, so every spawner stays warm. */
  private turn = 0;

  constructor(log: Logger, count = SPAWNERS) {
    this.links = Array.from({ length: count }, () => new SpawnerLink(log));
  }

  /** Forks the spawner processes now rather than at the first starts. */
  warm(): void {
    for (const link of this.links) link.warm();
  }

  /** Starts `file` with `args` and `env`; rejects with SpawnFailure when it cannot run. */
  start(
    file: string,
    args: readonly string[],
    env: Readonly<Record<string, string>>,
  ): Promise<RemoteProgram> {
    const { links } = this;
    this.turn = (this.turn + 1) % links.length;
    let least = links[this.turn]!;
    for (let i = 1; i < links.length; i++) {
      const link = links[(this.turn + i) % links.length]!;
      if (link.starting < least.starting) least = link;
    }
    return least.start(file, args, env);
  }

  /** Programs still running are the launcher's to stop first; this ends the spawner processes. */
  close(): void {
    for (const link of this.links) link.close();
  }
}
