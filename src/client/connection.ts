/**
 * The WebSocket to the server after its handshake, framed by wstcp itself: each chunk from the local side
 * goes out as one masked binary frame, masked in place, and server payload reaches the owner as it is read
 * (frame-reader.ts; ws:// connections read 256 KiB at a time, server-reads.ts): no message reassembly, no
 * copies of large payloads.
 *
 * Closing (RFC 6455 section 7): our close frame is followed by waiting up to CLOSE_TIMEOUT_MS for the
 * server's; a close frame from the server is answered with one carrying its code; after the exchange the
 * TCP connection is ended. `serverClosed` is reported once, when the socket has closed: with the server's
 * close code, 1005 when its close frame had none, or 1006 when the connection ended without one.
 */
import type { Socket } from 'node:net';
import {
  closePayload as closeCodeAndReason,
  headerLength,
  isValidCloseCode,
  Opcode,
  writeHeader,
} from '../websocket/frames.js';
import { maskInto, unmask } from '../websocket/unmask.js';
import { FrameReader, type FrameReaderSink } from './frame-reader.js';
import { newMaskKey } from './mask.js';
import { ServerReads } from './server-reads.js';

export interface ConnectionOwner {
  /** Bracket the `serverData` calls from one socket read, so that they can go out in one write. */
  serverReadStart(): void;
  serverReadEnd(): void;
  serverData(data: Buffer): void;
  /** Bytes passed to `serverData` that are not written out yet (the owner still refers to them). */
  serverQueued(): number;
  serverPong(): void;
  /** Once, when the connection is gone. `error` is what broke it, if anything did. */
  serverClosed(code: number, reason: string, error: Error | undefined): void;
}

/** How long our close frame may wait for the server's answer before the connection is dropped. */
const CLOSE_TIMEOUT_MS = 10000;
const NO_STATUS = 1005;
const ABNORMAL = 1006;
const IGNORE: ConnectionOwner = {
  serverReadStart: () => {},
  serverReadEnd: () => {},
  serverData: () => {},
  serverQueued: () => 0,
  serverPong: () => {},
  serverClosed: () => {},
};

/** Frames up to this size are masked into one buffer with their header (one small write). */
const COPY_UP_TO_BYTES = 4096;

/** A client's frame header is the server's with the mask bit set and a 4-byte key after it. */
function maskedHeaderLength(length: number): number {
  return headerLength(length) + 4;
}

/** Writes the header of a masked frame at the start of `into`; returns the key (also in `into`). */
function writeMaskedHeader(into: Buffer, opcode: number, length: number): Buffer {
  const keyAt = writeHeader(into, 0, opcode, length);
  into[1] = (into[1] as number) | 0x80;
  return newMaskKey(into, keyAt);
}

/** A masked frame of `payload` in a fresh buffer (control frames and small data frames). */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const payloadAt = maskedHeaderLength(payload.length);
  const frame = Buffer.allocUnsafe(payloadAt + payload.length);
  const key = writeMaskedHeader(frame, opcode, payload.length);
  if (payload.length > 0) maskInto(payload, key, frame, payloadAt);
  return frame;
}

/** 1005, 1006 and 1015 only describe what happened (RFC 6455 7.4): such a close goes out without a code. */
function closePayload(code: number, reason: string): Buffer {
  return isValidCloseCode(code) ? closeCodeAndReason(code, reason) : Buffer.alloc(0);
}

export class ServerConnection implements FrameReaderSink {
  private owner: ConnectionOwner = IGNORE;
  private readonly reader = new FrameReader(this);
  private closeSent = false;
  private receivedCode: number | undefined;
  private receivedReason = '';
  private error: Error | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private reported = false;
  private attached = false;
  private head: Buffer | undefined;

  constructor(
    private readonly socket: Socket,
    /** The subprotocol the server agreed to ('' for none). */
    readonly protocol: string,
    head: Buffer,
  ) {
    this.head = head.length > 0 ? head : undefined;
    socket.on('error', this.onError);
    socket.once('close', this.onSocketClose);
  }

  /** Data can still be sent: no close frame sent yet and the socket is writable. */
  get open(): boolean {
    return !this.closeSent && this.socket.writable;
  }

  /** Bytes queued in the socket and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  /** Starts reading and reporting to `owner` (once). */
  attach(owner: ConnectionOwner): void {
    if (this.attached) return;
    this.attached = true;
    this.owner = owner;
    this.socket.once('end', this.onEnd);
    const head = this.head;
    this.head = undefined;
    if (head) this.reader.push(head);
    const reads = ServerReads.of(this.socket);
    if (reads) reads.takeOver(this.onRead);
    else this.socket.on('data', this.onData);
  }

  /**
   * Sends `data` as one binary frame; `written` runs when it has reached the kernel (or failed). Large
   * payloads are masked in place: `data` is the connection's from now on.
   */
  send(data: Buffer, written?: (err?: Error | null) => void): void {
    if (!this.open) return;
    const socket = this.socket;
    if (data.length <= COPY_UP_TO_BYTES) {
      socket.write(maskedFrame(Opcode.Binary, data), written);
      return;
    }
    const header = Buffer.allocUnsafe(maskedHeaderLength(data.length));
    // Masking is the same XOR as unmasking: in place, no copy of the payload.
    unmask(data, writeMaskedHeader(header, Opcode.Binary, data.length));
    // Header and payload in one writev.
    socket.cork();
    socket.write(header);
    socket.write(data, written);
    socket.uncork();
  }

  ping(): void {
    if (this.open) this.socket.write(maskedFrame(Opcode.Ping, Buffer.alloc(0)));
  }

  /** Starts the closing handshake (once); reads the server's answer even when nobody attached. */
  close(code: number, reason = ''): void {
    if (this.closeSent) return;
    this.closeSent = true;
    this.attach(IGNORE);
    if (!this.socket.writable) return;
    this.socket.write(maskedFrame(Opcode.Close, closePayload(code, reason)));
    if (this.receivedCode !== undefined) this.socket.end();
    else {
      this.closeTimer = setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS);
      this.closeTimer.unref();
    }
  }

  /** Drops the connection at once. */
  terminate(): void {
    this.socket.destroy();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  serverPayload(data: Buffer): void {
    this.owner.serverData(data);
  }

  serverControl(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.Ping) {
      if (this.open) this.socket.write(maskedFrame(Opcode.Pong, payload));
    } else if (opcode === Opcode.Pong) {
      this.owner.serverPong();
    } else {
      this.receivedCode = payload.length >= 2 ? payload.readUInt16BE(0) : NO_STATUS;
      this.receivedReason = payload.length > 2 ? payload.subarray(2).toString('utf8') : '';
      if (this.closeSent) this.socket.end();
      else this.close(this.receivedCode, this.receivedReason);
    }
  }

  serverViolation(code: number, message: string): void {
    this.error ??= new Error(`the server sent ${message}`);
    this.close(code, 'protocol error');
    this.socket.end();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.owner.serverReadStart();
    this.reader.push(chunk);
    this.owner.serverReadEnd();
  };

  /** A read of a ServerReads socket; returns true when the owner still refers to its bytes. */
  private readonly onRead = (chunk: Buffer): boolean => {
    this.onData(chunk);
    return this.owner.serverQueued() > 0;
  };

  private readonly onEnd = (): void => {
    // The server ended the connection (after its close frame, or without one): end ours too.
    this.socket.end();
  };

  private readonly onError = (err: Error): void => {
    this.error ??= err;
  };

  private readonly onSocketClose = (): void => {
    clearTimeout(this.closeTimer);
    if (this.reported) return;
    this.reported = true;
    const code = this.receivedCode ?? ABNORMAL;
    this.owner.serverClosed(code, this.receivedReason, code === ABNORMAL ? this.error : undefined);
  };
}
