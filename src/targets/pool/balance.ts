/**
 * The balancing methods (--balance): which member of a pool a session tries next, among the members
 * still eligible for it. The pick is asked again after each failed attempt, with the members tried so far
 * left out, so every method is also a failover order.
 *
 * - round-robin: smooth weighted round-robin, as nginx's default: with weights 5,1,1 the order is
 *   a a b a c a a, never a run of five a's.
 * - least-conn: the fewest live sessions relative to the weight; ties by round-robin (nginx least_conn).
 * - random: weighted at random (nginx `random`).
 * - hash-client, hash-token: the same member for the same client address or token while it is available,
 *   by weighted rendezvous hashing: when a member goes, only its own sessions move elsewhere.
 * - first: in the order written; the next only when the one before fails (pure failover).
 */

export const BALANCE_METHODS = [
  'round-robin',
  'least-conn',
  'random',
  'hash-client',
  'hash-token',
  'first',
] as const;
export type BalanceMethod = (typeof BALANCE_METHODS)[number];

/** What a pick may look at for one member. */
export interface Candidate {
  /** The member's position in its pool. */
  readonly index: number;
  readonly weight: number;
  /** The member's text form, mixed into the hash. */
  readonly name: string;
  /** Its live sessions (least-conn). */
  readonly active: number;
}

/**
 * The balancing state of one pool: the current weights of smooth round-robin, indexed by member position.
 * Picks are synchronous, so concurrent handshakes never see a half-updated state.
 */
export class PoolBalancer {
  private readonly current: number[];

  constructor(size: number) {
    this.current = new Array<number>(size).fill(0);
  }

  /**
   * Picks one of `candidates` (not empty) by `method`. `key` is the client address or the token for the
   * hash methods (without one they fall back to round-robin).
   */
  pick(method: BalanceMethod, candidates: readonly Candidate[], key: string | undefined): Candidate {
    if (candidates.length === 1) return candidates[0]!;
    switch (method) {
      case 'first':
        return candidates.reduce((best, c) => (c.index < best.index ? c : best));
      case 'random':
        return pickRandom(candidates);
      case 'least-conn':
        return this.roundRobin(fewestSessions(candidates));
      case 'hash-client':
      case 'hash-token':
        return key === undefined ? this.roundRobin(candidates) : pickByHash(candidates, key);
      default:
        return this.roundRobin(candidates);
    }
  }

  /** nginx's smooth weighted round-robin: raise every current weight by its weight, take the highest. */
  private roundRobin(candidates: readonly Candidate[]): Candidate {
    let best: Candidate | undefined;
    let bestCurrent = Number.NEGATIVE_INFINITY;
    let total = 0;
    for (const c of candidates) {
      const current = (this.current[c.index] ?? 0) + c.weight;
      this.current[c.index] = current;
      total += c.weight;
      if (current > bestCurrent) {
        best = c;
        bestCurrent = current;
      }
    }
    this.current[best!.index] = bestCurrent - total;
    return best!;
  }
}

/** The candidates with the fewest sessions per unit of weight. */
function fewestSessions(candidates: readonly Candidate[]): Candidate[] {
  let least: Candidate[] = [];
  for (const c of candidates) {
    const first = least[0];
    // a/wa < b/wb without division: a*wb < b*wa.
    const order = first === undefined ? -1 : c.active * first.weight - first.active * c.weight;
    if (order < 0) least = [c];
    else if (order === 0) least.push(c);
  }
  return least;
}

function pickRandom(candidates: readonly Candidate[]): Candidate {
  let total = 0;
  for (const c of candidates) total += c.weight;
  let point = Math.random() * total;
  for (const c of candidates) {
    point -= c.weight;
    if (point < 0) return c;
  }
  return candidates[candidates.length - 1]!;
}

/**
 * Weighted rendezvous hashing: each member scores -weight / ln(u), u a uniform hash of key and member in
 * (0, 1); the highest score wins. A member's share is its share of the weights, and adding or removing a
 * member moves only the keys that go to, or came from, that member.
 */
function pickByHash(candidates: readonly Candidate[], key: string): Candidate {
  let best = candidates[0]!;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const c of candidates) {
    const u = (hash32(`${key}\u0000${c.name}`) + 0.5) / 4294967296;
    const score = -c.weight / Math.log(u);
    if (score > bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

/** FNV-1a over UTF-16 code units, then murmur3's finalizer to spread the bits; unsigned 32 bits. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
