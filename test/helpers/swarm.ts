/** Starts fanout-swarm.ts as a child and talks to it (READY, STATS, QUIT). */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./fanout-swarm.js', import.meta.url));

export interface SwarmStats {
  readonly messages: number;
  readonly bytes: number;
  readonly closed: number;
  /** Stamped messages that came no later than the one before on their socket (repeated or out of order). */
  readonly disorder: number;
  readonly p50: number;
  readonly p99: number;
  readonly samples: number;
}

export class Swarm {
  private readonly lines: string[] = [];
  private readonly waiters: (() => void)[] = [];
  private readonly reader: Interface;
  open = 0;
  failed = 0;

  private constructor(readonly child: ChildProcess) {
    this.reader = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    this.reader.on('line', (line) => {
      this.lines.push(line);
      for (const waiter of this.waiters.splice(0)) waiter();
    });
  }

  /** Opens `count` WebSocket subscribers to ws://host:port/path and waits until all handshakes are done. */
  static async start(
    host: string,
    port: number,
    path: string,
    count: number,
    timeoutMs = 120_000,
  ): Promise<Swarm> {
    const child = spawn(
      process.execPath,
      ['--max-old-space-size=2048', SCRIPT, host, String(port), path, String(count)],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    const swarm = new Swarm(child);
    const ready = await swarm.nextLine(timeoutMs);
    const match = /^READY (\d+) (\d+)$/.exec(ready);
    if (!match) throw new Error(`swarm: unexpected ${ready}`);
    swarm.open = Number(match[1]);
    swarm.failed = Number(match[2]);
    return swarm;
  }

  async stats(): Promise<SwarmStats> {
    this.child.stdin?.write('STATS\n');
    return JSON.parse(await this.nextLine(30_000)) as SwarmStats;
  }

  /** Asks for the stats until `done` holds or `timeoutMs` has passed; resolves with the last. */
  async statsWhen(done: (stats: SwarmStats) => boolean, timeoutMs: number): Promise<SwarmStats> {
    const deadline = Date.now() + timeoutMs;
    let stats = await this.stats();
    while (!done(stats) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      stats = await this.stats();
    }
    return stats;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.stdin?.end('QUIT\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await once(this.child, 'exit');
    clearTimeout(timer);
  }

  private async nextLine(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (Date.now() > deadline) throw new Error('swarm: no answer');
      if (this.child.exitCode !== null) throw new Error(`swarm exited with ${this.child.exitCode}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.lines.shift() as string;
  }
}
