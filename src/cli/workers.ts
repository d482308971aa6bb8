/**
 * --workers N|auto: several processes serve one port through node:cluster.
 *
 * The primary only supervises. It forks the workers (each runs the ordinary command line and becomes a
 * normal bridge on the shared port), forwards shutdown to them over IPC, replaces a worker that crashes
 * (at most MAX_RESTARTS within RESTART_WINDOW_MS, then it gives up and stops everything), and sums the
 * counters the workers report for its own log lines. Shutdown travels as an IPC message rather than a
 * signal: Ctrl-C already signals every process of the terminal's group, and a worker that got SIGINT twice
 * would take it as "exit now" and skip the 1001 closing handshakes.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Bridge } from '../bridge.js';
import type { Config } from '../config/config.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { addStats, type BridgeStats, zeroStats } from '../observe/stats.js';

interface StatsMessage {
  type: 'wstcp:stats';
  stats: BridgeStats;
}
interface ShutdownMessage {
  type: 'wstcp:shutdown';
  reason: string;
}

const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** Longer than the bridge's own 5 s grace for closing handshakes, so workers finish on their own. */
const SHUTDOWN_GRACE_MS = 10_000;
const STATS_INTERVAL_MS = 200;

function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}

/** The number of workers `--workers` asks for: `auto` is one per available core. */
export function workerCount(setting: number | 'auto'): number {
  return setting === 'auto' ? availableParallelism() : setting;
}

/** True in the process that should supervise workers rather than serve. */
export function isWorkersPrimary(config: Config): boolean {
  return config.workers !== undefined && cluster.isPrimary;
}

/** True in a worker forked by a WorkerPool. */
export function isWorkerProcess(): boolean {
  return cluster.isWorker;
}

/** Set by the primary in each worker's environment: its place 0..N-1, kept by its replacements. */
const SLOT_VARIABLE = 'WSTCP_WORKER_SLOT';

/**
 * A worker's place among the workers (0..N-1; a restarted worker takes its predecessor's), undefined
 * outside --workers. Work that must run once per service, such as channel feeds, runs in slot 0.
 */
export function workerSlot(): number | undefined {
  if (!cluster.isWorker) return undefined;
  const slot = Number(process.env[SLOT_VARIABLE]);
  return Number.isInteger(slot) ? slot : undefined;
}

/** Refuses options that cannot work across several processes. */
export function checkWorkersConfig(config: Config): void {
  if (config.listen.kind === 'unix') {
    throw new ConfigError('--workers cannot be combined with --unix-listen: run one process per unix socket');
  }
  if (config.runOnce)
    throw new ConfigError('--workers cannot be combined with --run-once (one session, one process)');
  if (config.command?.maxForks !== undefined)
    throw new ConfigError(
      '--workers cannot be combined with --max-forks: each worker would count only its own programs (use --max-connections, which counts across workers)',
    );
}

export interface WorkerPoolOptions {
  readonly count: number;
  readonly log: Logger;
  readonly maxRestarts?: number;
  readonly shutdownGraceMs?: number;
}

/**
 * The primary's side: forks `count` workers running this same command line and supervises them.
 * `done` resolves with the process exit code once every worker has exited.
 *
 * @example
 * const pool = WorkerPool.start({ count: workerCount(config.workers), log });
 * process.on('SIGTERM', () => void pool.shutdown('SIGTERM'));
 * process.exit(await pool.done);
 */
export class WorkerPool {
  readonly done: Promise<number>;
  private readonly workers = new Map<number, Worker>();
  /** Each worker's slot (workerSlot()), by worker id. */
  private readonly slots = new Map<number, number>();
  private readonly listening = new Set<number>();
  private readonly latest = new Map<number, BridgeStats>();
  /** Counters of workers that have exited, so a restart does not lose them. */
  private readonly retired = zeroStats();
  private readonly restarts: number[] = [];
  private stopping: Promise<void> | undefined;
  private exitCode = 0;
  private resolveDone!: (code: number) => void;
  private announced = false;

  private constructor(private readonly options: WorkerPoolOptions) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  static start(options: WorkerPoolOptions): WorkerPool {
    const pool = new WorkerPool(options);
    for (let slot = 0; slot < options.count; slot++) pool.fork(slot);
    return pool;
  }

  /** The counters of every worker, past and present, summed. */
  get stats(): BridgeStats {
    const total = { ...this.retired };
    for (const stats of this.latest.values()) addStats(total, stats);
    return total;
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Process ids of the running workers. */
  get pids(): number[] {
    return [...this.workers.values()].map((w) => w.process.pid!).filter(Boolean);
  }

  /** Passes a signal on to every worker (SIGHUP: reload the TLS certificate). */
  forward(signal: NodeJS.Signals): void {
    for (const worker of this.workers.values()) worker.process.kill(signal);
  }

  /**
   * Asks every worker to close its sessions (1001) and exit; kills those still running after the grace
   * period. Idempotent; resolves when all workers are gone.
   */
  shutdown(reason: string): Promise<void> {
    this.stopping ??= this.stopAll(reason);
    return this.stopping;
  }

  private async stopAll(reason: string): Promise<void> {
    const { log } = this.options;
    log.info('workers.stopping', { reason, workers: this.workers.size, sessions: this.stats.live });
    const message: ShutdownMessage = { type: 'wstcp:shutdown', reason };
    const exits = [...this.workers.values()].map((worker) => {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      if (worker.isConnected()) worker.send(message);
      else worker.process.kill('SIGTERM');
      return exited;
    });
    const grace = setTimeout(() => {
      for (const worker of this.workers.values()) {
        log.warn('worker.killed', {
          worker: worker.id,
          pid: worker.process.pid,
          reason: 'shutdown grace period over',
        });
        worker.process.kill('SIGKILL');
      }
    }, this.options.shutdownGraceMs ?? SHUTDOWN_GRACE_MS);
    await Promise.all(exits);
    clearTimeout(grace);
    log.info('workers.stopped', { ...this.stats });
  }

  private fork(slot: number): void {
    const worker = cluster.fork({ [SLOT_VARIABLE]: String(slot) });
    this.workers.set(worker.id, worker);
    this.slots.set(worker.id, slot);
    worker.on('message', (message: unknown) => {
      if (isMessage<StatsMessage>(message, 'wstcp:stats')) this.latest.set(worker.id, message.stats);
    });
    worker.once('listening', () => {
      this.listening.add(worker.id);
      if (!this.announced && this.listening.size === this.options.count) {
        this.announced = true;
        this.options.log.info('workers.listening', {
          workers: this.options.count,
          pids: this.pids.join(','),
        });
      }
    });
    worker.once('exit', (code, signal) => this.onExit(worker, code, signal));
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const { log } = this.options;
    this.workers.delete(worker.id);
    const slot = this.slots.get(worker.id)!;
    this.slots.delete(worker.id);
    const last = this.latest.get(worker.id);
    this.latest.delete(worker.id);
    if (last) {
      // Sessions a dead worker still held are over: count them as closed.
      addStats(this.retired, { ...last, closed: last.closed + last.live, live: 0 });
    }
    const neverServed = !this.listening.delete(worker.id);
    const crashed = code !== 0 || signal !== null;
    if (!this.stopping && crashed) {
      const fields = { worker: worker.id, pid: worker.process.pid, code, signal };
      if (neverServed) {
        // A worker that cannot even start (port in use, bad certificate) will not do better when restarted.
        log.error('worker.failed_to_start', fields);
        this.exitCode = 1;
        void this.shutdown('a worker failed to start');
      } else if (this.allowRestart()) {
        log.warn('worker.restarted', fields);
        this.fork(slot);
      } else {
        log.error('worker.restart_limit', {
          ...fields,
          restarts: MAX_RESTARTS,
          window_s: RESTART_WINDOW_MS / 1000,
        });
        this.exitCode = 1;
        void this.shutdown('workers keep crashing');
      }
    }
    if (this.workers.size === 0) {
      if (!this.stopping) log.info('workers.stopped', { ...this.stats });
      // Let a shutdown in progress log its last line before the owner exits.
      void (this.stopping ?? Promise.resolve()).then(() => this.resolveDone(this.exitCode));
    }
  }

  private allowRestart(): boolean {
    const now = Date.now();
    while (this.restarts.length > 0 && now - this.restarts[0]! > RESTART_WINDOW_MS) this.restarts.shift();
    if (this.restarts.length >= (this.options.maxRestarts ?? MAX_RESTARTS)) return false;
    this.restarts.push(now);
    return true;
  }
}

/** The worker's side of the IPC channel. */
export interface PrimaryLink {
  /** Sends the final counters; resolves once they are on their way (call before exiting). */
  flush(): Promise<void>;
}

/**
 * Connects a worker's bridge to the primary: reports counters (at most every 200 ms, only after a change)
 * and calls `stop` when the primary asks for shutdown or disappears.
 */
export function attachToPrimary(bridge: Bridge, stop: (reason: string) => void): PrimaryLink {
  let timer: NodeJS.Timeout | undefined;
  const send = (done?: () => void) => {
    if (!process.connected || !process.send) {
      done?.();
      return;
    }
    const message: StatsMessage = { type: 'wstcp:stats', stats: bridge.stats };
    process.send(message, undefined, {}, () => done?.());
  };
  const schedule = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      send();
    }, STATS_INTERVAL_MS);
    timer.unref();
  };
  bridge.on('session-open', schedule);
  bridge.on('session-close', schedule);
  process.on('message', (message: unknown) => {
    if (isMessage<ShutdownMessage>(message, 'wstcp:shutdown')) stop(`primary: ${message.reason}`);
  });
  process.once('disconnect', () => stop('primary exited'));
  send();
  return {
    flush: () =>
      new Promise<void>((resolve) => {
        clearTimeout(timer);
        timer = undefined;
        send(resolve);
      }),
  };
}
