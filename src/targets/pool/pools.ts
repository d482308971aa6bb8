/**
 * The pools of one bridge: the state of every member it has seen (health and counters, shared by every
 * pool naming that member) and the balancing state of every pool. A pool from a token store is just a
 * value: when a token file or a Redis value changes, new sessions open the new pool, sessions already
 * open stay on their member, and members the new pool keeps keep their state.
 *
 * What is tracked is bounded: beyond MAX_TRACKED entries, members without live sessions and pools not
 * used lately are forgotten (a forgotten member starts again as up; a pool, at its first member). Active
 * health checks probe the command line's members, and the others while they are in use: a member no
 * session has tried for `forgetIdleMs` (10 minutes) and none is open on (say, one a token file no longer names) is
 * forgotten rather than probed forever.
 */
import type { HandshakeContext } from '../../admission/pipeline.js';
import type { Logger } from '../../observe/log.js';
import { type BalanceMethod, PoolBalancer } from './balance.js';
import { openPool } from './failover.js';
import { HealthCheck } from './health-check.js';
import type { Probe } from './health-probe.js';
import { type HealthPolicy, type MemberSnapshot, MemberState, type Transition } from './member-state.js';
import {
  formatMemberTarget,
  formatPool,
  type MemberTarget,
  type PoolMember,
  type PoolTarget,
} from './pool-target.js';

export interface PoolsOptions extends HealthPolicy {
  readonly method: BalanceMethod;
  /** Active health checks every this many ms; 0: none. */
  readonly healthIntervalMs: number;
  /** Bounds each health probe. */
  readonly probeTimeoutMs: number;
  readonly probe: Probe;
  readonly log: Logger;
  /** How long an idle member that is not pinned stays tracked (and probed); default 10 minutes. */
  readonly forgetIdleMs?: number;
  /** The token of a handshake (hash-token); undefined when the bridge has no token store. */
  readonly tokenOf?: (ctx: HandshakeContext) => string | undefined;
}

export interface PoolOpenRequest<S> {
  readonly deadline: number;
  readonly signal: AbortSignal;
  /** The client address (hash-client) or the token (hash-token). */
  readonly key: string | undefined;
  readonly openMember: (member: PoolMember, deadline: number) => Promise<S>;
}

export interface PoolSession<S> {
  readonly stream: S;
  readonly member: MemberTarget;
  /** To be called once when the session on this member ends (least-conn counts live sessions). */
  readonly ended: () => void;
}

const MAX_TRACKED = 4096;
const FORGET_IDLE_MS = 10 * 60_000;

interface Tracked {
  readonly state: MemberState;
  readonly target: MemberTarget;
}

/** Per pool value: its key and the state of its members, so a pool opened again costs no lookups. */
interface Resolved {
  readonly key: string;
  readonly states: readonly MemberState[];
}

export class Pools {
  private readonly members = new Map<string, Tracked>();
  private readonly balancers = new Map<string, PoolBalancer>();
  /** Members that are never forgotten: those of the command line's pool. */
  private readonly pinned = new Set<MemberState>();
  private readonly resolved = new WeakMap<PoolTarget, Resolved>();
  private readonly health: HealthCheck | undefined;

  constructor(private readonly options: PoolsOptions) {
    this.health =
      options.healthIntervalMs > 0
        ? new HealthCheck({
            intervalMs: options.healthIntervalMs,
            timeoutMs: options.probeTimeoutMs,
            probe: options.probe,
            members: () => this.probed(),
            result: (state, ok) => this.report(state, state.probed(ok, Date.now())),
          })
        : undefined;
  }

  /** Tracks `pool`'s members from now on and never forgets them (the command line's pool). */
  pin(pool: PoolTarget): void {
    for (const state of this.resolve(pool).states) this.pinned.add(state);
    this.health?.round();
  }

  /** What the hash methods hash for `ctx`: the client address or the token; undefined for the others. */
  hashKey(ctx: HandshakeContext): string | undefined {
    const { method, tokenOf } = this.options;
    if (method === 'hash-client') return ctx.clientAddress;
    return method === 'hash-token' ? tokenOf?.(ctx) : undefined;
  }

  /** Opens a session on one of `pool`'s members (see failover.ts for the order and the errors). */
  async open<S>(pool: PoolTarget, request: PoolOpenRequest<S>): Promise<PoolSession<S>> {
    const { key, states } = this.resolve(pool);
    const chosen = await openPool({
      pool,
      states,
      balancer: this.balancer(key, pool.members.length),
      method: this.options.method,
      key: request.key,
      deadline: request.deadline,
      signal: request.signal,
      openMember: request.openMember,
      changed: (state, transition) => this.report(state, transition),
    });
    const state = states[chosen.index]!;
    this.options.log.debug('pool.member_chosen', { member: state.name, attempts: chosen.attempts });
    let ended = false;
    return {
      stream: chosen.stream,
      member: pool.members[chosen.index]!.target,
      ended: () => {
        if (ended) return;
        ended = true;
        state.ended(Date.now());
      },
    };
  }

  /** The state of `pool`'s members, or of every member tracked. */
  snapshot(pool?: PoolTarget): MemberSnapshot[] {
    const now = Date.now();
    const states = pool ? this.resolve(pool).states : [...this.members.values()].map((m) => m.state);
    return states.map((state) => state.snapshot(now));
  }

  close(): void {
    this.health?.close();
  }

  private resolve(pool: PoolTarget): Resolved {
    let resolved = this.resolved.get(pool);
    // A member forgotten since must be tracked again: check that the states are still the tracked ones.
    if (resolved === undefined || resolved.states.some((s) => this.members.get(s.name)?.state !== s)) {
      resolved = { key: formatPool(pool), states: pool.members.map((m) => this.member(m.target)) };
      this.resolved.set(pool, resolved);
    }
    return resolved;
  }

  private member(target: MemberTarget): MemberState {
    const name = formatMemberTarget(target);
    const tracked = this.members.get(name);
    if (tracked) return tracked.state;
    if (this.members.size >= MAX_TRACKED) this.forgetIdleMembers();
    const state = new MemberState(name, this.options);
    state.lastUsed = Date.now();
    this.members.set(name, { state, target });
    return state;
  }

  private balancer(key: string, size: number): PoolBalancer {
    let balancer = this.balancers.get(key);
    if (balancer) {
      // Most recently used last, so the oldest are forgotten first.
      this.balancers.delete(key);
    } else {
      balancer = new PoolBalancer(size);
      if (this.balancers.size >= MAX_TRACKED) {
        const oldest = this.balancers.keys().next();
        if (!oldest.done) this.balancers.delete(oldest.value);
      }
    }
    this.balancers.set(key, balancer);
    return balancer;
  }

  /** The members to probe now; forgets the idle ones that are not pinned. */
  private probed(): Tracked[] {
    const now = Date.now();
    const forgetIdleMs = this.options.forgetIdleMs ?? FORGET_IDLE_MS;
    const out: Tracked[] = [];
    for (const tracked of this.members.values()) {
      const { state } = tracked;
      if (this.pinned.has(state) || state.active > 0 || now - state.lastUsed < forgetIdleMs)
        out.push(tracked);
      else this.members.delete(state.name);
    }
    return out;
  }

  /** Forgets the least recently used tenth of the members that have no live session and are not pinned. */
  private forgetIdleMembers(): void {
    const idle = [...this.members.values()]
      .filter(({ state }) => state.active === 0 && !this.pinned.has(state))
      .sort((a, b) => a.state.lastUsed - b.state.lastUsed);
    for (const { state } of idle.slice(0, Math.ceil(MAX_TRACKED / 10))) this.members.delete(state.name);
  }

  private report(state: MemberState, transition: Transition | undefined): void {
    if (transition === undefined) return;
    const { log } = this.options;
    if (transition.up) {
      log.info('pool.member_up', { member: state.name, cause: transition.cause });
    } else if (transition.cause === 'max_fails') {
      log.warn('pool.member_down', {
        member: state.name,
        cause: transition.cause,
        fails: transition.fails,
        retry_s: transition.forMs / 1000,
      });
    } else {
      log.warn('pool.member_down', { member: state.name, cause: transition.cause });
    }
  }
}
