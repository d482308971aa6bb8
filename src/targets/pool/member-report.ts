/**
 * `wstcp tokens get` for a pool: one line per member with its settings and whether it answers a TCP
 * connect now (the probe of --health-interval, without TLS), so an operator sees at once which members a
 * bridge would skip. Members are probed in parallel, each within `timeoutMs`.
 */
import { socketProbe } from './health-probe.js';
import { formatMemberTarget, type PoolTarget } from './pool-target.js';

/** Lines like `  10.0.0.5:5900  weight=3  up` and `  10.0.0.6:5900  backup  down (no answer within 5 s)`. */
export async function describeMembers(pool: PoolTarget, timeoutMs: number): Promise<string[]> {
  const probe = socketProbe(undefined);
  const signal = new AbortController().signal;
  const answers = await Promise.all(pool.members.map((m) => probe(m.target, timeoutMs, signal)));
  return pool.members.map((member, i) => {
    const settings = [member.weight === 1 ? '' : `weight=${member.weight}`, member.backup ? 'backup' : '']
      .filter((s) => s !== '')
      .join(' ');
    const state = answers[i] ? 'up' : `down (no connection within ${timeoutMs / 1000} s)`;
    return `  ${formatMemberTarget(member.target)}${settings ? `  ${settings}` : ''}  ${state}`;
  });
}
