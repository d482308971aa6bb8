/**
 * wstcp's own WebSocket framing on a client socket, used for every session after the handshake (unless
 * permessage-deflate was negotiated: see ws-link.ts). It keeps no per-message state: client payload goes
 * to the session as it is read and unmasked (frame-parser.ts), and each chunk from the target goes out as
 * one frame: small ones copied behind their header, large ones written with their header in one writev,
 * or in one buffer when the target's read buffer left room for the header (targets/target-feed.ts).
 *
 * Text messages must be valid UTF-8 (checked as they stream, frame-parser.ts) unless --no-utf8-check; the
 * bytes of valid text are passed on as they are.
 *
 * Closing follows RFC 6455 section 7: a close frame is answered with one carrying the same code, then the
 * bridge ends the TCP connection; after sending a close frame the bridge waits up to CLOSE_TIMEOUT_MS for
 * the client's. A protocol error or an oversize message sends a close frame with its code and ends the
 * connection at once.
 */

import type { Socket } from 'node:net';
import type { FrameViolationKind } from '../errors.js';
import { FrameParser, type FrameSink } from './frame-parser.js';
import { closeFrame, frame, headerLength, Opcode, parseClosePayload, writeHeader } from './frames.js';
import type { ClientLink, LinkOwner } from './link.js';

/** How long a close frame may wait for the client's answer (as long as `ws` waits). */
const CLOSE_TIMEOUT_MS = 30_000;
/** Frames up to this size are copied together with their header into one buffer (one small write). */
const COPY_UP_TO_BYTES = 4096;
const PING = frame(Opcode.Ping, Buffer.alloc(0));
/** Pings are not answered while this much waits to be written to the client. */
const PONG_BACKLOG_BYTES = 64 * 1024;
const EMPTY_CLOSE = frame(Opcode.Close, Buffer.alloc(0));
/**
 * While reading from the client is paused (backpressure), its FIN or reset is never read: every
 * PAUSED_PROBE_MS an unsolicited pong (RFC 6455 5.5.3: no answer expected) is written instead. A client that
 * has gone answers it with a reset, and the next write fails: the socket closes and the session ends.
 */
const PAUSED_PROBE_MS = 1000;
const PROBE = frame(Opcode.Pong, Buffer.alloc(0));

/** Each socket is tagged with its link, so that all links share one set of listener functions. */
const kLink = Symbol('wstcp.link');
type TaggedSocket = Socket & { [kLink]: FrameLink };

export class FrameLink implements ClientLink, FrameSink {
  private owner: LinkOwner | undefined;
  private readonly parser: FrameParser;
  private closeSent = false;
  /** The code of the client's close frame (1005: it gave none); undefined until one arrives. */
  private receivedCode: number | undefined;
  private receivedReason = '';
  /** Why the connection failed (a reset, a TLS error), when it did: the reason of a close without a frame. */
  private failure = '';
  private closeTimer: NodeJS.Timeout | undefined;
  /** Bytes read together with the handshake, parsed on attach. */
  private head: Buffer | undefined;
  /** Made at the first pause, re-armed while paused (see PAUSED_PROBE_MS). */
  private probeTimer: NodeJS.Timeout | undefined;
  private probeArmed = false;

  constructor(
    private readonly socket: Socket,
    readonly protocol: string,
    maxMessageBytes: number,
    head: Buffer,
    /** Text messages and close reasons must be valid UTF-8 (false: --no-utf8-check). */
    private readonly utf8Check = true,
  ) {
    this.parser = new FrameParser(this, maxMessageBytes, utf8Check);
    this.head = head.length > 0 ? head : undefined;
  }

  get encrypted(): boolean {
    return (this.socket as { encrypted?: boolean }).encrypted === true;
  }

  get open(): boolean {
    return !this.closeSent && this.socket.writable;
  }

  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  get paused(): boolean {
    return this.socket.isPaused();
  }

  attach(owner: LinkOwner): void {
    this.owner = owner;
    if (owner.wantsMessageEnds) this.parser.reportMessageEnds();
    const socket = this.socket as TaggedSocket;
    socket[kLink] = this;
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.on('data', onData);
    socket.on('drain', onDrain);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
    if (socket.closed) queueMicrotask(() => this.closed());
    // The client's FIN may have come while the target was being connected: 'end' is not emitted twice.
    else if (socket.readableEnded) queueMicrotask(() => this.ended());
    const head = this.head;
    this.head = undefined;
    if (head) this.parser.push(head);
  }

  send(data: Buffer): boolean {
    if (this.closeSent || !this.socket.writable) return false;
    if (data.length <= COPY_UP_TO_BYTES) {
      this.socket.write(frame(Opcode.Binary, data));
      return false;
    }
    // Header and payload go out in one writev: no copy.
    const header = Buffer.allocUnsafe(headerLength(data.length));
    writeHeader(header, 0, Opcode.Binary, data.length);
    this.socket.cork();
    this.socket.write(header);
    this.socket.write(data);
    this.socket.uncork();
    return this.socket.writableLength > 0;
  }

  sendCopy(data: Buffer): false {
    if (!this.closeSent && this.socket.writable) this.socket.write(frame(Opcode.Binary, data));
    return false;
  }

  sendText(data: Buffer): boolean {
    if (this.closeSent || !this.socket.writable) return false;
    this.socket.write(frame(Opcode.Text, data));
    return false;
  }

  sendInPlace(data: Buffer, written?: () => void): boolean {
    const socket = this.socket;
    if (this.closeSent || !socket.writable) return false;
    const headerBytes = headerLength(data.length);
    const framed = Buffer.from(data.buffer, data.byteOffset - headerBytes, headerBytes + data.length);
    writeHeader(framed, 0, Opcode.Binary, data.length);
    socket.write(framed, written);
    return socket.writableLength > 0;
  }

  ping(): void {
    if (this.open) this.socket.write(PING);
  }

  close(code: number, reason: string): void {
    if (!this.closeSent) this.sendClose(closeFrame(code, reason));
  }

  terminate(): void {
    this.socket.destroy();
  }

  pause(): void {
    this.socket.pause();
    this.armProbe();
  }

  resume(): void {
    this.socket.resume();
  }

  /** @internal Bytes read from the client. */
  received(chunk: Buffer): void {
    const owner = this.owner;
    if (owner === undefined) return;
    owner.clientReadStart();
    this.parser.push(chunk);
    owner.clientReadEnd();
  }

  /** @internal Everything queued towards the client is written. */
  drained(): void {
    this.owner?.clientDrained();
  }

  /** @internal FrameSink */
  frameData(data: Buffer): void {
    this.owner?.clientData(data);
  }

  /** @internal FrameSink */
  messageEnd(): void {
    this.owner?.clientMessageEnd();
  }

  /** @internal FrameSink */
  controlFrame(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.Ping) {
      // A client that floods pings without reading its pongs would queue them without limit: RFC 6455
      // (5.5.3) lets an endpoint answer only the latest ping, so pongs are skipped while a backlog waits.
      if (this.open && this.socket.writableLength < PONG_BACKLOG_BYTES)
        this.socket.write(frame(Opcode.Pong, payload));
      return;
    }
    if (opcode === Opcode.Pong) {
      this.owner?.clientPong();
      return;
    }
    const close = parseClosePayload(payload, this.utf8Check);
    if (!close.ok) {
      this.frameError(close.code, close.message, close.violation);
      return;
    }
    this.receivedCode = close.code;
    this.receivedReason = close.reason;
    if (!this.closeSent) this.sendClose(close.code === 1005 ? EMPTY_CLOSE : closeFrame(close.code, ''));
    // Both close frames are out: the server ends the TCP connection first.
    this.end();
  }

  /** @internal FrameSink */
  frameError(code: number, message: string, violation: FrameViolationKind): void {
    this.parser.stop();
    this.owner?.clientError(code, message, violation);
    if (!this.closeSent) this.sendClose(closeFrame(code, message));
    this.end();
  }

  /** @internal The client sent FIN: nothing more will come, so the bridge ends its side too. */
  ended(): void {
    this.parser.stop();
    this.end();
  }

  /** @internal Reading is still paused: is the client still there? */
  probe(): void {
    this.probeArmed = false;
    const socket = this.socket;
    if (socket.destroyed || !socket.isPaused()) return;
    // Anything already queued is a pending write: it reports a reset by itself.
    if (!this.closeSent && socket.writableLength === 0) socket.write(PROBE);
    this.armProbe();
  }

  /**
   * @internal A reset, a write to a vanished peer, or a TLS error. A TLS socket is left open after an error
   * in an established connection (a corrupt record, a bad alert): nothing more can be read from it.
   */
  failed(err: NodeJS.ErrnoException): void {
    if (!this.failure) {
      const what = err.code === 'ECONNRESET' ? 'reset' : 'failed';
      this.failure = `client connection ${what} (${err.code ?? err.message})`;
    }
    this.socket.destroy();
  }

  /** @internal */
  closed(): void {
    clearTimeout(this.closeTimer);
    clearTimeout(this.probeTimer);
    const owner = this.owner;
    this.owner = undefined;
    if (this.receivedCode === undefined) owner?.clientClosed(1006, this.failure);
    else owner?.clientClosed(this.receivedCode, this.receivedReason);
  }

  /** Ends the socket once (ending it again would only make Node build an error object to discard). */
  private end(): void {
    if (!this.socket.writableEnded) this.socket.end();
  }

  private armProbe(): void {
    if (this.probeArmed) return;
    this.probeArmed = true;
    if (this.probeTimer) {
      this.probeTimer.refresh();
      return;
    }
    this.probeTimer = setTimeout(probeLink, PAUSED_PROBE_MS, this);
    this.probeTimer.unref();
  }

  private sendClose(closing: Buffer): void {
    this.closeSent = true;
    if (this.socket.writable) this.socket.write(closing);
    this.closeTimer = setTimeout(closeTimedOut, CLOSE_TIMEOUT_MS, this.socket);
    this.closeTimer.unref();
  }
}

function linkOf(socket: unknown): FrameLink {
  return (socket as TaggedSocket)[kLink];
}

// The shared listeners: `this` is the socket.
function onData(this: unknown, chunk: Buffer): void {
  linkOf(this).received(chunk);
}
function onDrain(this: unknown): void {
  linkOf(this).drained();
}
function onEnd(this: unknown): void {
  linkOf(this).ended();
}
function onError(this: unknown, err: NodeJS.ErrnoException): void {
  linkOf(this).failed(err);
}
function onClose(this: unknown): void {
  linkOf(this).closed();
}
function probeLink(link: FrameLink): void {
  link.probe();
}
function closeTimedOut(socket: Socket): void {
  socket.destroy();
}
