/**
 * Parses what a WebSocket client sends (RFC 6455 section 5), chunk by chunk as the socket reads it.
 *
 * The bridge relays bytes, not messages, so data frames are never reassembled: each piece of payload is
 * unmasked in place, in the buffer the socket read it into, and handed on without waiting for the rest of
 * its frame. Small pieces of one read are gathered into one run: each is moved down, in the same buffer,
 * to follow the previous one, so that a read of many tiny frames is handed on as one buffer (one write to
 * the target) instead of one per frame. Large pieces are handed on where they are (no copy). Only frame
 * headers and control frames (at most 125 bytes) that straddle two reads are copied, into one small
 * scratch buffer. Messages are still tracked for their size limit, for the fragmentation rules and, for
 * text, for valid UTF-8 (utf8.ts), checked piece by piece before a piece is handed on.
 */

import { FrameViolation, type FrameViolationKind } from '../errors.js';
import { MAX_CONTROL_PAYLOAD, Opcode } from './frames.js';
import { unmask } from './unmask.js';
import { continueUtf8, UTF8_ACCEPT, UTF8_REJECT } from './utf8.js';

/** Where parsed frames go: the client link. */
export interface FrameSink {
  /**
   * Unmasked payload of data frames (text, binary or continuation), in order: part of a frame, or the
   * small pieces of several frames from one read, joined.
   */
  frameData(data: Buffer): void;
  /** A whole, unmasked control frame (close, ping, pong). After a close frame nothing more is parsed. */
  controlFrame(opcode: number, payload: Buffer): void;
  /**
   * The client broke the protocol (`code` 1002), sent text that is not UTF-8 (1007) or broke a limit
   * (1009), named by `violation` (errors.ts): nothing more is parsed.
   */
  frameError(code: number, message: string, violation: FrameViolationKind): void;
  /** The last frame of a message is complete (only after `reportMessageEnds()`). */
  messageEnd?(): void;
}

enum State {
  Header,
  Payload,
  Stopped,
}

/**
 * The mask handed to `unmask`: one buffer for all parsers (JavaScript runs one parse at a time), so that
 * a session keeps its mask as a number instead of a Buffer of its own.
 */
const maskBytes = Buffer.alloc(4);

/**
 * Payload pieces below this size are gathered into runs; larger ones are handed on in place. A write to
 * the target costs far more than copying a few KiB, and 64 KiB frames stay zero-copy.
 */
const GATHER_BELOW_BYTES = 4096;

export class FrameParser {
  private state = State.Header;
  private opcode = 0;
  /** Payload bytes of the current frame not yet read. */
  private remaining = 0;
  /** The current frame's mask (big-endian), rotated so that its first byte applies to the next payload byte. */
  private mask = 0;
  /** A header (at most 14 bytes) or a control payload collected across reads; allocated when first needed. */
  private scratch: Buffer | undefined;
  private scratchLength = 0;
  /** Inside a fragmented message (its last frame not yet seen). */
  private inMessage = false;
  private messageBytes = 0;
  /** The current frame is the last of its message. */
  private final = false;
  /** The current message is text and its UTF-8 is checked. */
  private text = false;
  /** Where the current text message stands in its UTF-8 (utf8.ts). */
  private utf8 = UTF8_ACCEPT;
  /** The chunk being parsed (only during `push`), and the run of small pieces gathered in it. */
  private chunk: Buffer | undefined;
  private runStart = 0;
  private runEnd = 0;
  /** Tell the sink where messages end (line-oriented targets); off, it costs one test per data frame. */
  private messageEnds = false;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxMessageBytes: number,
    /** Check that text messages are valid UTF-8 (false: --no-utf8-check). */
    private readonly utf8Check = true,
  ) {}

  /** Parses `chunk`; payload is unmasked and gathered in place, so the caller must not reuse the chunk. */
  push(chunk: Buffer): void {
    this.chunk = chunk;
    let offset = 0;
    while (offset < chunk.length && this.state !== State.Stopped) {
      if (this.state === State.Header) offset = this.readHeader(chunk, offset);
      else offset = this.readPayload(chunk, offset);
    }
    this.flush();
    this.chunk = undefined;
  }

  /** From now on the sink hears `messageEnd()` after the last payload of each message. */
  reportMessageEnds(): void {
    this.messageEnds = true;
  }

  /** Stops parsing: what arrives from now on is ignored. */
  stop(): void {
    this.state = State.Stopped;
  }

  private readHeader(chunk: Buffer, offset: number): number {
    const available = chunk.length - offset;
    if (this.scratchLength === 0 && available >= 2) {
      const size = headerSize(chunk[offset + 1] as number);
      if (available >= size) {
        this.parseHeader(chunk, offset);
        return offset + size;
      }
    }
    // The header straddles reads: collect it.
    const scratch = this.scratchBuffer();
    let size = this.scratchLength >= 2 ? headerSize(scratch[1] as number) : 2;
    while (offset < chunk.length && this.scratchLength < size) {
      scratch[this.scratchLength++] = chunk[offset++] as number;
      if (this.scratchLength === 2) size = headerSize(scratch[1] as number);
    }
    if (this.scratchLength === size) {
      this.scratchLength = 0;
      this.parseHeader(scratch, 0);
    }
    return offset;
  }

  /** Takes in one complete header; false when it broke a rule (the parser has stopped). */
  private parseHeader(buf: Buffer, at: number): boolean {
    const b0 = buf[at] as number;
    const b1 = buf[at + 1] as number;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    if ((b0 & 0x70) !== 0)
      return this.fail('RESERVED_BITS', 'reserved bits set, but no extension was negotiated');
    if ((b1 & 0x80) === 0) return this.fail('UNMASKED', 'client frames must be masked');
    let length = b1 & 0x7f;
    let p = at + 2;
    if (length === 126) {
      length = buf.readUInt16BE(p);
      p += 2;
    } else if (length === 127) {
      const high = buf.readUInt32BE(p);
      // Beyond 2^53 a length is not even a safe integer; far beyond any message limit anyway.
      // RFC 6455 section 5.2: the most significant bit of a 64-bit length MUST be 0.
      if (high & 0x80000000) return this.fail('BAD_LENGTH', 'frame length has its most significant bit set');
      if (high > 0x1fffff) return this.fail('TOO_LARGE', 'frame length out of range');
      length = high * 0x100000000 + buf.readUInt32BE(p + 4);
      p += 8;
    }
    this.mask = buf.readUInt32BE(p);

    if (opcode >= Opcode.Close) {
      if (opcode > Opcode.Pong) return this.fail('BAD_OPCODE', `unknown opcode ${opcode}`);
      if (!fin) return this.fail('FRAGMENTED_CONTROL', 'a control frame must not be fragmented');
      if (length > MAX_CONTROL_PAYLOAD)
        return this.fail('CONTROL_TOO_LONG', 'control frame payload over 125 bytes');
    } else if (opcode === Opcode.Continuation) {
      if (!this.inMessage)
        return this.fail('UNEXPECTED_CONTINUATION', 'continuation frame without a message to continue');
    } else if (opcode === Opcode.Text || opcode === Opcode.Binary) {
      if (this.inMessage)
        return this.fail('UNFINISHED_MESSAGE', 'new message before the previous one was finished');
      this.messageBytes = 0;
      this.text = opcode === Opcode.Text && this.utf8Check;
      this.utf8 = UTF8_ACCEPT;
    } else {
      return this.fail('BAD_OPCODE', `unknown opcode ${opcode}`);
    }
    if (opcode < Opcode.Close) {
      this.messageBytes += length;
      if (this.messageBytes > this.maxMessageBytes)
        return this.fail('TOO_LARGE', `message larger than the ${this.maxMessageBytes}-byte limit`);
      this.inMessage = !fin;
      this.final = fin;
      // An empty last frame cannot complete a character left open.
      if (length === 0 && fin && this.text && this.utf8 !== UTF8_ACCEPT) return this.invalidText();
    }

    this.opcode = opcode;
    this.remaining = length;
    if (length > 0) this.state = State.Payload;
    else if (opcode >= Opcode.Close) this.control(Buffer.alloc(0));
    else if (this.messageEnds && fin) this.endMessage();
    return true;
  }

  private readPayload(chunk: Buffer, offset: number): number {
    const n = Math.min(this.remaining, chunk.length - offset);
    const end = offset + n;
    if (this.opcode < Opcode.Close) {
      const data = chunk.subarray(offset, end);
      this.unmask(data);
      if (this.text) {
        const utf8 = continueUtf8(this.utf8, data);
        this.utf8 = utf8;
        if (utf8 === UTF8_REJECT || (utf8 !== UTF8_ACCEPT && this.final && n === this.remaining)) {
          this.invalidText();
          return end;
        }
      }
      this.advance(n);
      if (n >= GATHER_BELOW_BYTES) {
        this.flush();
        this.sink.frameData(data);
      } else if (this.runEnd === this.runStart) {
        this.runStart = offset;
        this.runEnd = end;
      } else {
        if (offset !== this.runEnd) chunk.copy(chunk, this.runEnd, offset, end);
        this.runEnd += n;
      }
      if (this.messageEnds && this.remaining === 0 && this.final) this.endMessage();
      return end;
    }
    // A control frame: deliver it whole.
    if (this.scratchLength === 0 && n === this.remaining) {
      const payload = chunk.subarray(offset, end);
      this.unmask(payload);
      this.advance(n);
      this.control(payload);
      return end;
    }
    const scratch = this.scratchBuffer();
    chunk.copy(scratch, this.scratchLength, offset, end);
    this.scratchLength += n;
    this.remaining -= n;
    if (this.remaining === 0) {
      const payload = Buffer.from(scratch.subarray(0, this.scratchLength));
      this.scratchLength = 0;
      this.unmask(payload);
      this.state = State.Header;
      this.control(payload);
    }
    return end;
  }

  private scratchBuffer(): Buffer {
    if (this.scratch === undefined) this.scratch = Buffer.allocUnsafe(MAX_CONTROL_PAYLOAD);
    return this.scratch;
  }

  private unmask(data: Buffer): void {
    maskBytes.writeUInt32BE(this.mask, 0);
    unmask(data, maskBytes);
  }

  /** `n` payload bytes were read: rotate the mask to line up with the next byte. */
  private advance(n: number): void {
    this.remaining -= n;
    if (this.remaining === 0) this.state = State.Header;
    const shift = (n & 3) * 8;
    if (shift !== 0) this.mask = ((this.mask << shift) | (this.mask >>> (32 - shift))) >>> 0;
  }

  /**
   * Hands on the gathered run, if any. A run much smaller than its read is copied out, so that a queued
   * write does not keep the whole read (mostly headers and masks, for tiny frames) alive.
   */
  private flush(): void {
    const chunk = this.chunk;
    const length = this.runEnd - this.runStart;
    if (chunk === undefined || length === 0) return;
    const run = chunk.subarray(this.runStart, this.runEnd);
    this.runStart = this.runEnd = 0;
    this.sink.frameData(length * 2 < chunk.length ? Buffer.from(run) : run);
  }

  /** The message is complete: what was gathered of it goes first. */
  private endMessage(): void {
    this.flush();
    this.sink.messageEnd?.();
  }

  private control(payload: Buffer): void {
    if (this.opcode === Opcode.Close) {
      this.state = State.Stopped;
      // What came before the close reaches the session before the close does.
      this.flush();
    }
    this.sink.controlFrame(this.opcode, payload);
  }

  private invalidText(): false {
    return this.fail('INVALID_UTF8', 'text message is not valid UTF-8');
  }

  private fail(violation: FrameViolationKind, message: string): false {
    this.state = State.Stopped;
    this.flush();
    this.sink.frameError(FrameViolation[violation].close, message, violation);
    return false;
  }
}

/** The header's full size, known from its second byte. */
function headerSize(b1: number): number {
  const length = b1 & 0x7f;
  return 2 + (length === 126 ? 2 : length === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
}
