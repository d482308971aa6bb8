/**
 * Masking what a client sends (RFC 6455 5.3): a fresh, unpredictable 4-byte key per frame, taken from a pool
 * of random bytes refilled in batches, and the payload XORed into the frame's buffer by bufferutil's native
 * loop (a plain loop for tiny payloads, or when only bufferutil's JavaScript fallback loads).
 */
import { randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';

type MaskInto = (source: Buffer, mask: Buffer, output: Buffer, offset: number, length: number) => void;

/** Below this size a JavaScript loop beats the call into native code. */
const NATIVE_FROM_BYTES = 32;
const POOL_BYTES = 8192;

function maskLoop(source: Buffer, mask: Buffer, output: Buffer, offset: number, length: number): void {
  for (let i = 0; i < length; i++) output[offset + i] = (source[i] as number) ^ (mask[i & 3] as number);
}

function loadNative(): MaskInto | undefined {
  try {
    const require = createRequire(import.meta.url);
    const bufferutil = require('bufferutil') as { mask: MaskInto };
    return require.cache[require.resolve('bufferutil/fallback.js')] ? undefined : bufferutil.mask;
  } catch {
    return undefined;
  }
}

const native = loadNative();
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

/** XORs `source` with `key` into `output` from `offset` on. */
export function maskInto(source: Buffer, key: Buffer, output: Buffer, offset: number): void {
  if (native !== undefined && source.length >= NATIVE_FROM_BYTES)
    native(source, key, output, offset, source.length);
  else maskLoop(source, key, output, offset, source.length);
}
