/**
 * RFC 6455 framing, the server's side: opcodes, close codes, and the frames the bridge sends (never masked).
 */

import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { FrameViolationKind } from '../errors.js';

export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/** RFC 6455 section 1.3: appended to the client's key to prove the server understood the handshake. */
const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The `Sec-WebSocket-Accept` value that answers a `Sec-WebSocket-Key`. */
export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + ACCEPT_GUID)
    .digest('base64');
}

/** Control frames (close, ping, pong) carry at most this many payload bytes. */
export const MAX_CONTROL_PAYLOAD = 125;
/** A close reason is what is left of a control payload after the 2-byte code. */
export const MAX_CLOSE_REASON = MAX_CONTROL_PAYLOAD - 2;

/** The longest frame header the bridge writes (a 64-bit length, no mask). */
export const MAX_HEADER_BYTES = 10;

/** Bytes of header in front of `length` payload bytes: 2, 4 or 10. */
export function headerLength(length: number): number {
  return length < 126 ? 2 : length < 0x10000 ? 4 : 10;
}

/**
 * Writes a final, unmasked frame header for `length` payload bytes into `target` at `offset` and returns
 * the header length. `target` must have `headerLength(length)` bytes free there.
 */
export function writeHeader(target: Buffer, offset: number, opcode: number, length: number): number {
  target[offset] = 0x80 | opcode;
  if (length < 126) {
    target[offset + 1] = length;
    return 2;
  }
  if (length < 0x10000) {
    target[offset + 1] = 126;
    target.writeUInt16BE(length, offset + 2);
    return 4;
  }
  target[offset + 1] = 127;
  target.writeUInt32BE(Math.floor(length / 0x100000000), offset + 2);
  target.writeUInt32BE(length >>> 0, offset + 6);
  return 10;
}

/** A whole unmasked frame, header and a copy of the payload in one buffer: control frames, small data. */
export function frame(opcode: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(headerLength(payload.length) + payload.length);
  const offset = writeHeader(out, 0, opcode, payload.length);
  payload.copy(out, offset);
  return out;
}

/** A close frame with `code` and `reason` (cut to what fits, on a character boundary). */
export function closeFrame(code: number, reason: string): Buffer {
  return frame(Opcode.Close, closePayload(code, reason));
}

/** A close frame's payload: `code`, then `reason` cut to what fits, on a character boundary. */
export function closePayload(code: number, reason: string): Buffer {
  const text = Buffer.from(truncateUtf8(reason, MAX_CLOSE_REASON));
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return payload;
}

/** The longest prefix of `text` whose UTF-8 form fits in `maxBytes`. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const char of text) {
    bytes += Buffer.byteLength(char);
    if (bytes > maxBytes) break;
    out += char;
  }
  return out;
}

/** Codes a peer may send in a close frame (RFC 6455 7.4, plus 1012-1014 from the IANA registry). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/** A close frame's payload, read: its code (1005 when it has none) and reason, or what is wrong with it. */
export type ClosePayload =
  | { readonly ok: true; readonly code: number; readonly reason: string }
  | {
      readonly ok: false;
      readonly code: 1002 | 1007;
      readonly message: string;
      readonly violation: FrameViolationKind;
    };

/** `checkUtf8` false (--no-utf8-check) lets a reason that is not UTF-8 through. */
export function parseClosePayload(payload: Buffer, checkUtf8 = true): ClosePayload {
  if (payload.length === 0) return { ok: true, code: 1005, reason: '' };
  if (payload.length === 1)
    return { ok: false, code: 1002, message: 'close frame with a 1-byte payload', violation: 'BAD_CLOSE' };
  const code = payload.readUInt16BE(0);
  if (!isValidCloseCode(code))
    return { ok: false, code: 1002, message: `invalid close code ${code}`, violation: 'BAD_CLOSE' };
  const text = payload.subarray(2);
  if (checkUtf8 && !isUtf8(text))
    return { ok: false, code: 1007, message: 'close reason is not valid UTF-8', violation: 'INVALID_UTF8' };
  return { ok: true, code, reason: text.toString('utf8') };
}
