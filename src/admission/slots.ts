/**
 * Where connection slots are counted (--max-connections, --max-connections-per-ip,
 * --max-connections-per-token): in this process, in the --workers primary for all its workers
 * (primary-slots.ts), or in Redis for every instance (redis-slots.ts). A slot is a key (`total`,
 * `ip:ADDRESS`, `token:HASH`) and a maximum; taking one either succeeds with a Release or is refused.
 */
import type { Release } from './pipeline.js';

export interface SlotCounter {
  /** Takes a slot under `key` when fewer than `max` are taken; undefined when none is free. */
  take(key: string, max: number): Promise<Release | undefined> | Release | undefined;
  /** Why slots cannot be counted now (for /readyz), or undefined. */
  problem?(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Releases exactly once, however often it is called. */
export function once(release: () => void): Release {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    release();
  };
}

/** Counts in this process. */
export class LocalSlots implements SlotCounter {
  private readonly counts = new Map<string, number>();

  take(key: string, max: number): Release | undefined {
    const current = this.counts.get(key) ?? 0;
    if (current >= max) return undefined;
    this.counts.set(key, current + 1);
    return once(() => {
      const left = (this.counts.get(key) ?? 1) - 1;
      // Keys of gone clients are dropped, so the map cannot grow with every address ever seen.
      if (left <= 0) this.counts.delete(key);
      else this.counts.set(key, left);
    });
  }

  /** Slots taken under `key` now. */
  live(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  async close(): Promise<void> {}
}
