/**
 * A small seeded pseudo-random generator (mulberry32) for fuzz tests: the same seed gives the same cases,
 * the same masks and the same TCP split points, so a failure printed with its seed can be replayed.
 */

export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255);
    return out;
  }
}

/**
 * The seed of a fuzz run: FUZZ_SEED when set (decimal or 0x hex), otherwise `fallback`, so that `npm test`
 * is reproducible and a wider search only takes an environment variable.
 */
export function fuzzSeed(fallback: number): number {
  const text = process.env.FUZZ_SEED;
  if (text === undefined || text === '') return fallback;
  const seed = Number(text);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new Error(`FUZZ_SEED must be an integer in [0, 2^32): got "${text}"`);
  return seed;
}

/** How many cases to run: FUZZ_CASES when set, otherwise `fallback`. */
export function fuzzCases(fallback: number): number {
  const text = process.env.FUZZ_CASES;
  if (text === undefined || text === '') return fallback;
  const cases = Number(text);
  if (!Number.isInteger(cases) || cases < 1)
    throw new Error(`FUZZ_CASES must be a positive integer: "${text}"`);
  return cases;
}
