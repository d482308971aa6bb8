/**
 * Masking keys for what a client sends (RFC 6455 5.3): a fresh, unpredictable 4-byte key per frame, taken
 * from a pool of random bytes refilled in batches. The XOR itself is websocket/unmask.ts's maskInto.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 8192;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

/** Writes a fresh masking key into `output` at `at`; returns it (a view valid until the next call). */
export function newMaskKey(output: Buffer, at: number): Buffer {
  if (poolOffset === POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const key = pool.subarray(poolOffset, poolOffset + 4);
  poolOffset += 4;
  key.copy(output, at);
  return key;
}
