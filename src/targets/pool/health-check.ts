/**
 * Active health checks (--health-interval S): every S seconds each known member is probed (health-probe.ts)
 * and marked up or down by the result, so a dead member is skipped before any session pays for it and a
 * member coming back rejoins without waiting for a session to try it. A member still being probed when the
 * next round starts is not probed twice. The timer does not keep the process alive; close() stops it and
 * abandons the probes in flight.
 */
import type { Probe } from './health-probe.js';
import type { MemberState } from './member-state.js';
import type { MemberTarget } from './pool-target.js';

export interface HealthCheckOptions {
  readonly intervalMs: number;
  /** Bounds each probe (at most the interval). */
  readonly timeoutMs: number;
  readonly probe: Probe;
  /** The members to probe now, with what each reaches. */
  readonly members: () => Iterable<{ state: MemberState; target: MemberTarget }>;
  /** A probe's result. */
  readonly result: (state: MemberState, ok: boolean) => void;
}

export class HealthCheck {
  private readonly timer: NodeJS.Timeout;
  private readonly stopped = new AbortController();
  private readonly probing = new Set<MemberState>();

  constructor(private readonly options: HealthCheckOptions) {
    this.timer = setInterval(() => this.round(), options.intervalMs);
    this.timer.unref();
    queueMicrotask(() => this.round());
  }

  /** Probes every known member not already being probed. */
  round(): void {
    if (this.stopped.signal.aborted) return;
    const timeoutMs = Math.min(this.options.timeoutMs, this.options.intervalMs);
    for (const { state, target } of this.options.members()) {
      if (this.probing.has(state)) continue;
      this.probing.add(state);
      void this.options.probe(target, timeoutMs, this.stopped.signal).then((ok) => {
        this.probing.delete(state);
        if (!this.stopped.signal.aborted) this.options.result(state, ok);
      });
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.stopped.abort();
  }
}
