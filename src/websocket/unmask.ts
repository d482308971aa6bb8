/**
 * The masking XOR (RFC 6455 5.3), both ways: unmasking client payloads in place, and masking what the client
 * side sends into its frame buffer. bufferutil's native loops (prebuilt for common platforms, so they load
 * without install scripts) for anything but tiny payloads, a plain loop otherwise.
 */
import { createRequire } from 'node:module';

type Unmask = (data: Buffer, mask: Buffer) => void;
type Mask = (source: Buffer, mask: Buffer, output: Buffer, offset: number, length: number) => void;

/** Below this size a JavaScript loop beats the call into native code. */
const NATIVE_FROM_BYTES = 32;

function xorLoop(source: Buffer, mask: Buffer, output: Buffer, offset: number): void {
  for (let i = 0; i < source.length; i++)
    output[offset + i] = (source[i] as number) ^ (mask[i & 3] as number);
}

/** bufferutil's native code; undefined when only its JavaScript fallback (or nothing) loads. */
function loadNative(): { unmask: Unmask; mask: Mask } | undefined {
  try {
    const require = createRequire(import.meta.url);
    const bufferutil = require('bufferutil') as { unmask: Unmask; mask: Mask };
    // bufferutil falls back to a JavaScript copy of this loop when its prebuilt binary does not load.
    return require.cache[require.resolve('bufferutil/fallback.js')] ? undefined : bufferutil;
  } catch {
    return undefined;
  }
}

const native = loadNative();

/** True when bufferutil's native code loaded (the tests insist on it where a prebuilt binary exists). */
export const nativeUnmask = native !== undefined;

/** XORs `data` with the 4-byte `mask`, starting at mask byte 0. */
export function unmask(data: Buffer, mask: Buffer): void {
  if (native !== undefined && data.length >= NATIVE_FROM_BYTES) native.unmask(data, mask);
  else xorLoop(data, mask, data, 0);
}

/** XORs `source` with the 4-byte `mask` into `output` from `offset` on (a copy and a mask in one pass). */
export function maskInto(source: Buffer, mask: Buffer, output: Buffer, offset: number): void {
  if (native !== undefined && source.length >= NATIVE_FROM_BYTES)
    native.mask(source, mask, output, offset, source.length);
  else xorLoop(source, mask, output, offset);
}
