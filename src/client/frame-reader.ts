/**
 * Reads the frames a server sends (RFC 6455 5.2): unmasked, data payload handed on as it is read, in the
 * buffer the socket read it into, without reassembling messages (the local side wants bytes, not
 * messages). Control frames (close, ping, pong; at most 125 bytes) are collected whole. A frame that breaks
 * the protocol stops the reader with a close code for the connection to send.
 */

import { MAX_CONTROL_PAYLOAD, MAX_HEADER_BYTES, Opcode } from '../websocket/frames.js';

export interface FrameReaderSink {
  /** Payload bytes of a data frame (text, binary or continuation): a whole frame or part of one. */
  serverPayload(data: Buffer): void;
  /** A whole control frame. After a close frame nothing more is read. */
  serverControl(opcode: number, payload: Buffer): void;
  /** The server broke the protocol; nothing more is read. */
  serverViolation(code: number, message: string): void;
}

interface Violation {
  readonly code: number;
  readonly message: string;
}

const violation = (code: number, message: string): Violation => ({ code, message });

export class FrameReader {
  private readonly header = Buffer.alloc(MAX_HEADER_BYTES);
  private headerBytes = 0;
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;
  /** The control frame being collected, or undefined inside a data frame. */
  private control: { opcode: number; payload: Buffer; filled: number } | undefined;
  /** A fragmented data message is open: the next data frame must be a continuation. */
  private inMessage = false;
  private stopped = false;

  constructor(private readonly sink: FrameReaderSink) {}

  /** Reads `chunk`; data payload is handed on as views into it. */
  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.stopped) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - offset);
        const piece = chunk.subarray(offset, offset + n);
        offset += n;
        this.remaining -= n;
        if (this.control) this.collectControl(piece);
        else this.sink.serverPayload(piece);
        continue;
      }
      offset = this.readHeader(chunk, offset);
    }
  }

  /** Copies header bytes until the header is whole, then starts its frame; returns the new offset. */
  private readHeader(chunk: Buffer, offset: number): number {
    const header = this.header;
    while (this.headerBytes < 2 && offset < chunk.length)
      header[this.headerBytes++] = chunk[offset++] as number;
    if (this.headerBytes < 2) return offset;
    const length7 = (header[1] as number) & 0x7f;
    const needed = 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0);
    while (this.headerBytes < needed && offset < chunk.length)
      header[this.headerBytes++] = chunk[offset++] as number;
    if (this.headerBytes < needed) return offset;
    this.headerBytes = 0;
    const problem = this.startFrame(length7, needed);
    if (problem) this.fail(problem.code, problem.message);
    return offset;
  }

  /** Sets up the frame whose header was just read; returns what is wrong with it, if anything. */
  private startFrame(length7: number, headerLength: number): Violation | undefined {
    const b0 = this.header[0] as number;
    const b1 = this.header[1] as number;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    if ((b0 & 0x70) !== 0) return violation(1002, 'a frame with reserved bits set (no extension was agreed)');
    if ((b1 & 0x80) !== 0) return violation(1002, 'a masked frame from the server');
    let length = length7;
    if (headerLength === 4) length = this.header.readUInt16BE(2);
    else if (headerLength === 10) {
      const high = this.header.readUInt32BE(2);
      if (high > 0x1fffff) return violation(1009, 'a frame longer than 2^53 bytes');
      length = high * 2 ** 32 + this.header.readUInt32BE(6);
    }
    if (opcode >= Opcode.Close) {
      if (opcode > Opcode.Pong) return violation(1002, `an unknown opcode ${opcode}`);
      if (!fin || length > MAX_CONTROL_PAYLOAD)
        return violation(1002, 'a fragmented or oversized control frame');
      this.control = { opcode, payload: Buffer.allocUnsafe(length), filled: 0 };
      this.remaining = length;
      if (length === 0) this.collectControl(Buffer.alloc(0));
      return undefined;
    }
    if (opcode > Opcode.Binary) return violation(1002, `an unknown opcode ${opcode}`);
    if ((opcode === Opcode.Continuation) !== this.inMessage) {
      return violation(
        1002,
        this.inMessage ? 'a new message inside a fragmented one' : 'a continuation of nothing',
      );
    }
    this.inMessage = !fin;
    this.remaining = length;
    return undefined;
  }

  private collectControl(piece: Buffer): void {
    const control = this.control!;
    piece.copy(control.payload, control.filled);
    control.filled += piece.length;
    if (this.remaining > 0) return;
    this.control = undefined;
    if (control.opcode === Opcode.Close) this.stopped = true;
    this.sink.serverControl(control.opcode, control.payload);
  }

  private fail(code: number, message: string): void {
    this.stopped = true;
    this.sink.serverViolation(code, message);
  }
}
