/**
 * The RFC 6455 model for the frame fuzz test: given the frames a client sends, what a conforming bridge
 * must do. It is a pure function of the frames (not of how they were generated), so a generator bug cannot
 * make the model agree with the bridge by construction.
 *
 * Rules (RFC 6455 sections 5 and 7, and wstcp's documented limit, `--max-message-size`: close 1009 beyond):
 * - RSV bits without an extension, an unmasked client frame, an unknown opcode, a fragmented control frame,
 *   a control payload over 125 bytes, a continuation with no message open, a new data frame inside an open
 *   message, a 64-bit length with its most significant bit set (5.2: it MUST be 0), a close payload of one
 *   byte or with a code no peer may send (7.4): close 1002.
 * - A message whose length would exceed the limit: close 1009, decided on the frame header.
 * - A text message (8.1) or a close reason that is not UTF-8: close 1007.
 * - A valid close frame: the same code sent back (no payload for a close without a code), then TCP ends.
 * - Pings are answered with pongs carrying their payload; pongs are ignored.
 * Data frames before the first violation reach the target exactly; after it nothing is parsed.
 */
import { isUtf8 } from 'node:buffer';

export interface FrameSpec {
  fin: boolean;
  /** RSV1-3 as the 0x70 part of the first byte. */
  rsv: number;
  masked: boolean;
  opcode: number;
  /** The payload bytes sent after the header (fewer than `declaredLength` only after a header violation). */
  payload: Buffer;
  /** The length written in the header; defaults to the payload's length. */
  declaredLength?: bigint;
}

export type Outcome =
  /** The bridge answers a close frame with `code` (undefined: an empty close payload) and ends TCP. */
  | { kind: 'close'; code: number | undefined }
  /** The client only ended its TCP side, with no violation before: no close frame, TCP ends. */
  | { kind: 'eof' };

export interface Expectation {
  /** Bytes the target must receive, exactly (or, with `mayAlsoRelay`, as a prefix). */
  relay: Buffer;
  /**
   * A text frame that broke UTF-8: a bridge that relays as it reads may have passed on a prefix of it
   * before it could tell (the RFC's "fail fast" is per byte, not per frame).
   */
  mayAlsoRelay: Buffer;
  /** Pong payloads the bridge sends, in order, before its close frame. */
  pongs: Buffer[];
  outcome: Outcome;
  /** Index of the frame that ended parsing (violation or close), or -1 when the client's EOF did. */
  decidedAt: number;
  why: string;
}

export interface ModelOptions {
  maxMessageBytes: number;
}

const OPCODES = new Set([0x0, 0x1, 0x2, 0x8, 0x9, 0xa]);
const TWO_POW_63 = 1n << 63n;

/** Codes a peer may put in a close frame: RFC 6455 7.4.1 and 7.4.2, plus 1012-1014 from the IANA registry. */
export function isSendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

export function expectedOutcome(frames: readonly FrameSpec[], options: ModelOptions): Expectation {
  const relayed: Buffer[] = [];
  const pongs: Buffer[] = [];
  let inMessage = false;
  let textMessage = false;
  let messageBytes = 0;
  const utf8 = new Utf8Stream();
  const stop = (at: number, code: number | undefined, why: string, mayAlsoRelay?: Buffer): Expectation => ({
    relay: Buffer.concat(relayed),
    mayAlsoRelay: mayAlsoRelay ?? Buffer.alloc(0),
    pongs,
    outcome: { kind: 'close' as const, code },
    decidedAt: at,
    why,
  });

  for (const [i, f] of frames.entries()) {
    const length = f.declaredLength ?? BigInt(f.payload.length);
    const control = f.opcode >= 0x8;
    if (f.rsv !== 0) return stop(i, 1002, 'RSV bits set');
    if (!f.masked) return stop(i, 1002, 'unmasked client frame');
    if (length >= TWO_POW_63) return stop(i, 1002, '64-bit length with the MSB set');
    if (!OPCODES.has(f.opcode)) return stop(i, 1002, `unknown opcode ${f.opcode}`);
    if (control && !f.fin) return stop(i, 1002, 'fragmented control frame');
    if (control && length > 125n) return stop(i, 1002, 'control payload over 125 bytes');
    if (f.opcode === 0x0 && !inMessage) return stop(i, 1002, 'continuation without a message');
    if ((f.opcode === 0x1 || f.opcode === 0x2) && inMessage)
      return stop(i, 1002, 'new message inside a message');
    if (!control && BigInt(f.opcode === 0x0 ? messageBytes : 0) + length > BigInt(options.maxMessageBytes))
      return stop(i, 1009, 'message over the limit');
    if (length !== BigInt(f.payload.length))
      throw new Error(`frame ${i}: a valid header must carry its payload`);

    if (f.opcode === 0x8) {
      const p = f.payload;
      if (p.length === 0) return stop(i, undefined, 'close without a code');
      if (p.length === 1) return stop(i, 1002, 'close payload of one byte');
      const code = p.readUInt16BE(0);
      if (!isSendableCloseCode(code)) return stop(i, 1002, `close code ${code}`);
      if (!isUtf8(p.subarray(2))) return stop(i, 1007, 'close reason not UTF-8');
      return stop(i, code, 'valid close');
    }
    if (f.opcode === 0x9) {
      pongs.push(f.payload);
      continue;
    }
    if (f.opcode === 0xa) continue;

    if (f.opcode !== 0x0) {
      textMessage = f.opcode === 0x1;
      messageBytes = 0;
      utf8.reset();
    }
    messageBytes += f.payload.length;
    inMessage = !f.fin;
    if (textMessage && !utf8.push(f.payload, f.fin)) return stop(i, 1007, 'text not UTF-8', f.payload);
    relayed.push(f.payload);
  }
  return {
    relay: Buffer.concat(relayed),
    mayAlsoRelay: Buffer.alloc(0),
    pongs,
    outcome: { kind: 'eof' },
    decidedAt: -1,
    why: 'client EOF',
  };
}

/**
 * UTF-8 validated across fragments: a code point may straddle frames, but a byte that can never be part of
 * valid UTF-8 (overlong forms, surrogates, beyond U+10FFFF) fails at once, and so does a message that ends
 * inside a code point.
 */
export class Utf8Stream {
  private pending: number[] = [];

  reset(): void {
    this.pending = [];
  }

  /** False as soon as the text so far cannot be UTF-8 (or, when `final`, is not complete UTF-8). */
  push(bytes: Buffer, final: boolean): boolean {
    const all = [...this.pending, ...bytes];
    let i = 0;
    while (i < all.length) {
      const need = sequenceLength(all[i] as number);
      if (need === 0) return false;
      const available = Math.min(need, all.length - i);
      for (let k = 1; k < available; k++) {
        if (!continuationOk(all[i] as number, k, all[i + k] as number)) return false;
      }
      if (available < need) break;
      i += need;
    }
    this.pending = all.slice(i);
    return !(final && this.pending.length > 0);
  }
}

function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** Whether `byte` may be the `k`-th byte of a sequence led by `lead` (Unicode table 3-7). */
function continuationOk(lead: number, k: number, byte: number): boolean {
  if (k === 1) {
    if (lead === 0xe0) return byte >= 0xa0 && byte <= 0xbf;
    if (lead === 0xed) return byte >= 0x80 && byte <= 0x9f;
    if (lead === 0xf0) return byte >= 0x90 && byte <= 0xbf;
    if (lead === 0xf4) return byte >= 0x80 && byte <= 0x8f;
  }
  return byte >= 0x80 && byte <= 0xbf;
}
