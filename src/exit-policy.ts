/**
 * When a bridge asks its owner to shut it down: --run-once (after its one session), --timeout (stop
 * accepting N s after start, then wait for the sessions to end) and --idle-timeout (N s with no session).
 */
import type { Logger } from './observe/log.js';

/** Why the bridge asks its owner to shut it down. */
export type DoneReason = 'run-once' | 'timeout' | 'idle-timeout';

export interface ExitPolicyOptions {
  readonly runOnce: boolean;
  /** --timeout */
  readonly timeoutMs: number | undefined;
  /** --idle-timeout */
  readonly idleTimeoutMs: number | undefined;
}

/** What the policy acts on. */
export interface ExitHost {
  readonly sessions: ReadonlySet<unknown>;
  readonly log: Logger;
  stopAccepting(): void;
  done(reason: DoneReason): void;
}

export class ExitPolicy {
  private timeoutTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private timedOut = false;
  private stopped = false;

  constructor(
    private readonly options: ExitPolicyOptions,
    private readonly host: ExitHost,
  ) {}

  /** Arms the timers (once the bridge listens). */
  start(): void {
    const { timeoutMs } = this.options;
    if (timeoutMs) {
      this.timeoutTimer = setTimeout(() => {
        this.timedOut = true;
        this.host.log.info('bridge.accept_timeout', { seconds: timeoutMs / 1000 });
        this.host.stopAccepting();
        if (this.host.sessions.size === 0) this.host.done('timeout');
      }, timeoutMs);
    }
    this.armIdle();
  }

  sessionOpened(): void {
    clearTimeout(this.idleTimer);
    if (this.options.runOnce) this.host.stopAccepting();
  }

  sessionEnded(): void {
    if (this.timedOut && this.host.sessions.size === 0) this.host.done('timeout');
    if (this.options.runOnce) this.host.done('run-once');
    else this.armIdle();
  }

  /** The bridge is closing: no timer fires any more. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timeoutTimer);
    clearTimeout(this.idleTimer);
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    const ms = this.options.idleTimeoutMs;
    if (!ms || this.host.sessions.size > 0 || this.stopped) return;
    this.idleTimer = setTimeout(() => {
      this.host.log.info('bridge.idle_timeout', { seconds: ms / 1000 });
      this.host.done('idle-timeout');
    }, ms);
  }
}
