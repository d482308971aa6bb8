/**
 * What the bridge knows about one pool member: whether it may be tried, and its counters.
 *
 * Passive health, as nginx's max_fails/fail_timeout: `maxFails` failed attempts within `failTimeoutMs`
 * mark the member down for `failTimeoutMs`; then it is tried again, and one more failure marks it down
 * again at once, until an attempt succeeds (maxFails 0: never marked down this way). Active health
 * (--health-interval) marks it down on a failed probe and up on the next probe that succeeds.
 * A member is available when neither has it down.
 */

export interface HealthPolicy {
  /** Failures within `failTimeoutMs` that mark a member down; 0 disables passive health. */
  readonly maxFails: number;
  readonly failTimeoutMs: number;
}

/** Why a member changed state, for the log line. */
export type Transition =
  | { readonly up: false; readonly cause: 'max_fails'; readonly fails: number; readonly forMs: number }
  | { readonly up: false; readonly cause: 'health' }
  | { readonly up: true; readonly cause: 'connected' | 'health' };

/** The member's counters, for `wstcp tokens get`, the metrics and tests. */
export interface MemberSnapshot {
  readonly member: string;
  readonly up: boolean;
  /** Sessions opened through this member since the bridge started. */
  readonly sessions: number;
  /** Its sessions open right now. */
  readonly active: number;
  /** Failed attempts (refused, timed out, failed probes are not counted) since the bridge started. */
  readonly failures: number;
  /** Times it was marked down. */
  readonly downs: number;
}

export class MemberState {
  sessions = 0;
  active = 0;
  failures = 0;
  downs = 0;
  /** Date.now() of the last attempt or session end, to forget members no pool uses any more. */
  lastUsed = 0;
  /** Failures in the current window, which began at `windowStart`. */
  private fails = 0;
  private windowStart = 0;
  /** Passive: down until this time. */
  private downUntil = 0;
  /** Passive: marked down and not connected since, so one failure marks it down again. */
  private suspect = false;
  /** Active: the last probe failed. */
  private probeDown = false;

  constructor(
    readonly name: string,
    private readonly policy: HealthPolicy,
  ) {}

  available(now: number): boolean {
    return !this.probeDown && now >= this.downUntil;
  }

  /** An attempt failed; returns the transition when it marks the member down. */
  failed(now: number): Transition | undefined {
    this.failures++;
    this.lastUsed = now;
    const { maxFails, failTimeoutMs } = this.policy;
    if (maxFails === 0) return undefined;
    if (this.fails === 0 || now - this.windowStart > failTimeoutMs) {
      this.fails = 0;
      this.windowStart = now;
    }
    this.fails++;
    if (!this.suspect && this.fails < maxFails) return undefined;
    const wasAvailable = now >= this.downUntil;
    this.downUntil = now + failTimeoutMs;
    this.suspect = true;
    if (!wasAvailable || this.probeDown) return undefined;
    this.downs++;
    return { up: false, cause: 'max_fails', fails: this.fails, forMs: failTimeoutMs };
  }

  /** An attempt connected: a session starts on this member. Returns the transition when it was down. */
  connected(now: number): Transition | undefined {
    this.sessions++;
    this.active++;
    this.lastUsed = now;
    this.fails = 0;
    const wasDown = this.suspect;
    this.suspect = false;
    this.downUntil = 0;
    return wasDown && !this.probeDown ? { up: true, cause: 'connected' } : undefined;
  }

  /** A session on this member ended. */
  ended(now: number): void {
    this.active--;
    this.lastUsed = now;
  }

  /** The result of an active health probe; returns the transition when the state changes. */
  probed(ok: boolean, now: number): Transition | undefined {
    const wasAvailable = this.available(now);
    if (ok) {
      this.probeDown = false;
      this.suspect = false;
      this.fails = 0;
      this.downUntil = 0;
      return wasAvailable ? undefined : { up: true, cause: 'health' };
    }
    this.probeDown = true;
    if (!wasAvailable) return undefined;
    this.downs++;
    return { up: false, cause: 'health' };
  }

  snapshot(now: number): MemberSnapshot {
    const { name: member, sessions, active, failures, downs } = this;
    return { member, up: this.available(now), sessions, active, failures, downs };
  }
}
