/**
 * Opening a pool: members are tried one after another, in the order the balancing method picks them,
 * all within the one deadline of the handshake (--connect-timeout). Each attempt gets a fair share of
 * the time left, so a member that swallows connections (a black hole) costs a share, not the whole
 * handshake. Available members come first, backups only when no other is left, and members marked down
 * last of all: a pool whose members are all marked down still tries them before it refuses.
 */
import { describeError, type HttpError, refuse } from '../../errors.js';
import type { BalanceMethod, Candidate, PoolBalancer } from './balance.js';
import type { MemberState, Transition } from './member-state.js';
import type { PoolMember, PoolTarget } from './pool-target.js';

export interface FailoverRequest<S> {
  readonly pool: PoolTarget;
  /** The state of each member, by position in the pool. */
  readonly states: readonly MemberState[];
  readonly balancer: PoolBalancer;
  readonly method: BalanceMethod;
  /** The client address or token for the hash methods. */
  readonly key: string | undefined;
  readonly deadline: number;
  readonly signal: AbortSignal;
  /** Opens one member by `deadline`; rejects with an HttpError (TARGET_UNREACHABLE, TARGET_TIMEOUT, ...). */
  readonly openMember: (member: PoolMember, deadline: number) => Promise<S>;
  /** A member changed state (for the log line). */
  readonly changed: (state: MemberState, transition: Transition) => void;
}

export interface Chosen<S> {
  readonly stream: S;
  /** The member's position in the pool. */
  readonly index: number;
  /** Members tried, this one included. */
  readonly attempts: number;
}

/**
 * Opens the first member that connects. Rejects with TARGET_TIMEOUT (504) when every attempt timed out,
 * TARGET_UNREACHABLE (502) otherwise, the reason naming how many members were tried; rejects at once
 * with TOO_MANY_CONNECTIONS or when the client left.
 */
export async function openPool<S>(request: FailoverRequest<S>): Promise<Chosen<S>> {
  const { pool, states, deadline, signal } = request;
  const totalMs = deadline - Date.now();
  const tried = new Set<number>();
  const failures: string[] = [];
  let allTimedOut = true;
  for (;;) {
    const now = Date.now();
    const remaining = deadline - now;
    if (remaining <= 0) break;
    const next = nextAttempt(request, tried, now);
    if (next === undefined) break;
    const member = pool.members[next.index]!;
    const state = states[next.index]!;
    tried.add(next.index);
    try {
      const stream = await request.openMember(member, now + Math.ceil(remaining / next.sharesLeft));
      const transition = state.connected(Date.now());
      if (transition) request.changed(state, transition);
      return { stream, index: next.index, attempts: tried.size };
    } catch (err) {
      const code = (err as HttpError).code;
      if (code === 'WSTCP_TOO_MANY_CONNECTIONS' || signal.aborted) throw err;
      if (code !== 'WSTCP_TARGET_TIMEOUT') allTimedOut = false;
      failures.push(describeError(err));
      const transition = state.failed(Date.now());
      if (transition) request.changed(state, transition);
    }
  }
  const size = pool.members.length;
  const tally = `${tried.size} of ${size} pool member${size === 1 ? '' : 's'} tried`;
  if (allTimedOut) {
    throw refuse('TARGET_TIMEOUT', `${tally}, none answered within ${Math.round(totalMs / 100) / 10} s`);
  }
  throw refuse('TARGET_UNREACHABLE', `${tally}, none connected: ${failures.join('; ')}`);
}

/** The member to try next and how many attempts the time left is shared by; undefined when none is left. */
function nextAttempt<S>(
  request: FailoverRequest<S>,
  tried: ReadonlySet<number>,
  now: number,
): { index: number; sharesLeft: number } | undefined {
  const { pool, states } = request;
  const primaries: Candidate[] = [];
  const backups: Candidate[] = [];
  const down: Candidate[] = [];
  for (let index = 0; index < pool.members.length; index++) {
    if (tried.has(index)) continue;
    const member = pool.members[index]!;
    const state = states[index]!;
    const candidate = { index, weight: member.weight, name: state.name, active: state.active };
    if (!state.available(now)) down.push(candidate);
    else if (member.backup) backups.push(candidate);
    else primaries.push(candidate);
  }
  const live = primaries.length + backups.length;
  const group = primaries.length > 0 ? primaries : backups.length > 0 ? backups : down;
  if (group.length === 0) return undefined;
  const picked = request.balancer.pick(request.method, group, request.key);
  return { index: picked.index, sharesLeft: live > 0 ? live : down.length };
}
