/**
 * Pools as a kind of target (issue 16): `vnc1:5900,vnc2:5900,[fd00::3]:5900` on the command line or as a
 * token's value. Every member must pass --allow-target. Opening one tries members as the balancing method
 * orders them, all within the handshake's deadline (failover.ts), and yields the chosen member's stream;
 * the bridge's member states and balancing live in its Pools (pools.ts), given in the open options.
 */
import { refuse } from '../../errors.js';
import type { TargetKind } from '../target.js';
import { tcpKind } from '../tcp.js';
import { unixKind } from '../unix.js';
import { PoolStream } from './pool-stream.js';
import { formatPool, type PoolTarget, parsePool } from './pool-target.js';

export const poolKind: TargetKind<PoolTarget> = {
  kind: 'pool',
  parse: parsePool,
  format: formatPool,
  allowedBy: (rules, pool) =>
    pool.members.every(({ target }) =>
      target.kind === 'unix' ? unixKind.allowedBy(rules, target) : tcpKind.allowedBy(rules, target),
    ),
  async open(pool, options) {
    const { pools } = options;
    if (pools === undefined) throw refuse('INTERNAL', 'pools are not set up in this bridge');
    const session = await pools.open(pool, {
      deadline: options.deadline,
      signal: options.signal,
      key: pools.hashKey(options.ctx),
      openMember: ({ target }, deadline) => {
        const memberOptions = { ...options, deadline };
        return target.kind === 'unix'
          ? unixKind.open(target, memberOptions)
          : tcpKind.open(target, memberOptions);
      },
    });
    return new PoolStream(session.stream, session.ended);
  },
};
