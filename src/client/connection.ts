/**
 * The WebSocket to the server after its handshake, framed by wstcp itself: each chunk from the local side
 * goes out as one masked binary frame in one write, and server payload reaches the owner as it is read
 * (frame-reader.ts): no message reassembly, no copies beyond the masking a client must do.
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
import { maskInto } from '../websocket/unmask.js';
import { FrameReader, type FrameReaderSink } from './frame-reader.js';
import { newMaskKey } from './mask.js';

export interface ConnectionOwner {
  /** Bracket the `serverData` calls from one socket read, so that they can go out in one write. */
  serverReadStart(): void;
  serverReadEnd(): void;
  serverData(data: Buffer): void;
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
  serverPong: () => {},
  serverClosed: () => {},
};

/**
 * Buffers for frames of up to one full socket read (64 KiB), reused once their write has completed: a fresh
 * 64 KiB buffer for every frame costs page faults and unmapping in the kernel (13% of the forward's CPU in
 * `perf` before the pool). At most MAX_POOLED_FRAMES wait here, for the whole process.
 */
const POOLED_FRAME_BYTES = 65536 + 14;
const MAX_POOLED_FRAMES = 64;
const framePool: Buffer[] = [];

function frameBuffer(size: number): Buffer {
  if (size > POOLED_FRAME_BYTES) return Buffer.allocUnsafe(size);
  return framePool.pop() ?? Buffer.allocUnsafe(POOLED_FRAME_BYTES);
}

function recycle(buffer: Buffer): void {
  if (buffer.length === POOLED_FRAME_BYTES && framePool.length < MAX_POOLED_FRAMES) framePool.push(buffer);
}

/** A client's frame header is the server's with the mask bit set and a 4-byte key after it. */
function frameSize(length: number): number {
  return headerLength(length) + 4 + length;
}

/** A masked frame of `payload` in a fresh buffer (control frames: small and rare). */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  return writeMaskedFrame(Buffer.allocUnsafe(frameSize(payload.length)), opcode, payload);
}

/** Writes a masked frame of `payload` at the start of `into`; returns the view that holds it. */
function writeMaskedFrame(into: Buffer, opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const keyAt = writeHeader(into, 0, opcode, length);
  into[1] = (into[1] as number) | 0x80;
  const payloadAt = keyAt + 4;
  const frame = into.subarray(0, payloadAt + length);
  const key = newMaskKey(frame, keyAt);
  if (length > 0) maskInto(payload, key, frame, payloadAt);
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
    this.socket.on('data', this.onData);
    this.socket.once('end', this.onEnd);
    const head = this.head;
    this.head = undefined;
    if (head) this.reader.push(head);
  }

  /** Sends `data` as one binary frame; `written` runs when it has reached the kernel (or failed). */
  send(data: Buffer, written?: (err?: Error | null) => void): void {
    if (!this.open) return;
    const buffer = frameBuffer(frameSize(data.length));
    this.socket.write(writeMaskedFrame(buffer, Opcode.Binary, data), (err) => {
      // Written (or dropped with the connection): the socket holds no reference to it any more.
      recycle(buffer);
      written?.(err);
    });
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
