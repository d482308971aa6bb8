/**
 * Unmasking client payloads in place: bufferutil's native loop (prebuilt for common platforms, so it
 * loads without install scripts) for anything but tiny payloads, a plain loop otherwise.
 */
import { createRequire } from 'node:module';

type Unmask = (data: Buffer, mask: Buffer) => void;

/** Below this size a JavaScript loop beats the call into native code. */
const NATIVE_FROM_BYTES = 32;

function unmaskLoop(data: Buffer, mask: Buffer): void {
  for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) ^ (mask[i & 3] as number);
}

/** bufferutil's native unmask; undefined when only its JavaScript fallback (or nothing) loads. */
function loadNative(): Unmask | undefined {
  try {
    const require = createRequire(import.meta.url);
    const bufferutil = require('bufferutil') as { unmask: Unmask };
    // bufferutil falls back to a JavaScript copy of this loop when its prebuilt binary does not load.
    return require.cache[require.resolve('bufferutil/fallback.js')] ? undefined : bufferutil.unmask;
  } catch {
    return undefined;
  }
}

const native = loadNative();

/** True when bufferutil's native code loaded (the tests insist on it where a prebuilt binary exists). */
export const nativeUnmask = native !== undefined;

/** XORs `data` with the 4-byte `mask`, starting at mask byte 0. */
export function unmask(data: Buffer, mask: Buffer): void {
  if (native !== undefined && data.length >= NATIVE_FROM_BYTES) native(data, mask);
  else unmaskLoop(data, mask);
}
