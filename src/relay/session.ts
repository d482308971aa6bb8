/**
 * One session: a WebSocket client (a ClientLink) and a target (a TargetStream), relayed both ways. The
 * session sees neither sockets nor kinds of target, only the two interfaces (websocket/link.ts,
 * targets/target.ts).
 *
 * - client -> target: the payload of data frames is written as raw bytes, as it is read (messages are not
 *   reassembled; the small frames of one client read are joined into one write: frame-parser.ts). When
 *   more than `maxBufferBytes` wait towards the target, counting each queued write's own cost as well as
 *   its bytes, reading from the client is paused until the target drains.
 * - target -> client: each chunk read becomes one binary frame (plain targets are read without a buffer
 *   per read: targets/target-feed.ts). When more than `maxBufferBytes` (at most 1 MiB for a TLS client) wait towards the
 *   client, the target is paused until the client socket drains.
 * - Closing: target EOF -> FIN to the target after what is queued for it; once its socket has closed,
 *   everything queued reaches the client, then close 1000 (1011 if the target reset meanwhile, or did not
 *   take what was queued within the linger time). Client close -> everything queued reaches the target,
 *   then FIN. A reset on either side closes the other promptly (1011 / destroy).
 * - bytes_to_target counts what the target socket took: writes that failed (a reset, a destroy) are
 *   counted as dropped instead.
 *
 * The session ends exactly once, when both sides are closed; `onEnd` then runs and the close line is logged.
 */
import { formatHostPort, UNIX_CLIENT } from '../address.js';
import { FrameViolation, type FrameViolationKind } from '../errors.js';
import type { Logger } from '../observe/log.js';
import type { Recorder } from '../observe/record.js';
import type { TargetBytes, TargetOwner, TargetStream } from '../targets/target.js';
import type { ClientLink, LinkOwner } from '../websocket/link.js';

/** Who ended a session: the browser side, the target side, or the bridge itself (shutdown, limits). */
export type Closer = 'client' | 'target' | 'bridge';

/** Who a session is: its number, its client, its target, and what must happen when it ends. */
export interface SessionInit {
  readonly id: number;
  readonly clientAddress: string;
  readonly clientPort: number;
  /** The target as `host:port`: one string shared by every session to the same target. */
  readonly target: string;
  /** Called once when the session ends (connection limits give their slots back). */
  readonly releases: readonly (() => void)[];
  /** --record: receives every frame passed on, both ways. */
  readonly recorder: Recorder | undefined;
}

/** Settings shared by every session of a bridge (one object, not one per session). */
export interface SessionOptions {
  readonly maxBufferBytes: number;
  readonly log: Logger;
  /** Log every frame (--traffic). */
  readonly traffic: boolean;
}

const TARGET_LINGER_MS = 5000;
/**
 * What a queued write costs beyond its bytes: the write request, the Buffer and its backing store
 * (measured at about 200 bytes; counted generously). Without it a client sending one tiny frame per read
 * to a target that does not read queued millions of 1-byte writes (hundreds of MiB) under a 4 MiB limit.
 */
const WRITE_OVERHEAD_BYTES = 512;
/**
 * Towards a TLS client at most this much is queued, whatever `maxBufferBytes` says: Node encrypts a queue
 * in one piece and hands the kernel one write of that size, and multi-megabyte writes cost the kernel far
 * more than they save (measured: TLS target->client 600 -> 880-1070 MB/s at 1 MiB instead of 4).
 */
const MAX_TLS_CLIENT_QUEUE_BYTES = 1024 * 1024;

export class Session implements LinkOwner, TargetOwner {
  readonly id: number;
  readonly clientAddress: string;
  readonly clientPort: number;
  readonly target: string;
  readonly releases: readonly (() => void)[];
  readonly recorder: Recorder | undefined;
  bytesToTarget = 0;
  bytesToClient = 0;
  /**
   * Bytes that could not be delivered (logged on close): they arrived after the other side had closed, or
   * their write to the target failed.
   */
  bytesDropped = 0;
  readonly startedAt = Date.now();
  /** Set when a ping is sent, cleared by the pong (heartbeat). */
  awaitingPong = false;

  private closer: Closer | undefined;
  private closeCode: number | undefined;
  private closeReason = '';
  /** The client's frame-protocol violation that closed the session, for the close line. */
  private violation: FrameViolationKind | undefined;
  private clientIsClosed = false;
  private targetClosed = false;
  private ended = false;
  /** The target sent EOF and its socket is closing: the close code (1000) waits for how it closes. */
  private targetEnding = false;
  private lingerTimer: NodeJS.Timeout | undefined;
  /** Writes to the target since its queue was last seen empty (their overhead counts against the limit). */
  private writesQueued = 0;

  constructor(
    init: SessionInit,
    private readonly link: ClientLink,
    private readonly stream: TargetStream,
    private readonly options: SessionOptions,
    private readonly onEnd: (session: Session) => void,
  ) {
    this.id = init.id;
    this.clientAddress = init.clientAddress;
    this.clientPort = init.clientPort;
    this.target = init.target;
    this.releases = init.releases;
    this.recorder = init.recorder;
    link.attach(this);
    stream.attach(this);
  }

  /** The client as `host:port` (formatted when asked: sessions keep no per-session strings). */
  get client(): string {
    return this.clientAddress === UNIX_CLIENT
      ? UNIX_CLIENT
      : formatHostPort(this.clientAddress, this.clientPort);
  }

  /** Bytes this session holds in memory that are not yet taken by the target. */
  get queuedToTarget(): number {
    return this.stream.queuedBytes;
  }

  /** Bytes this session holds in memory that are not yet written to the client socket. */
  get queuedToClient(): number {
    return this.link.bufferedAmount;
  }

  get durationMs(): number {
    return Date.now() - this.startedAt;
  }

  /** Closes the session from the bridge's side (shutdown 1001, idle timeout, ...). */
  close(code: number, reason: string): void {
    this.initiate('bridge', code, reason);
    this.link.close(code, reason);
  }

  /** Drops a peer that stopped answering (heartbeat): nothing can be delivered to it any more. */
  terminate(reason: string): void {
    this.initiate('bridge', 1006, reason);
    this.link.terminate();
  }

  /**
   * Sends a heartbeat ping, or terminates the session when the previous one was never answered. Returns
   * true when it did the latter (a missed heartbeat, for --metrics).
   */
  heartbeat(): boolean {
    if (this.awaitingPong) {
      this.terminate('heartbeat timeout: no pong from client');
      return true;
    }
    this.awaitingPong = true;
    this.link.ping();
    return false;
  }

  /** @internal LinkOwner: the client socket drained, so resume reading from the target. */
  clientDrained(): void {
    if (this.stream.paused) this.stream.resume();
  }

  /** @internal TargetOwner: the target drained: resume reading from the client. */
  targetDrained(): void {
    if (this.link.paused) this.link.resume();
  }

  /** @internal LinkOwner */
  clientPong(): void {
    this.awaitingPong = false;
  }

  /** @internal LinkOwner: what one client read holds goes to the target in one write. */
  clientReadStart(): void {
    this.stream.cork();
  }

  /** @internal LinkOwner */
  clientReadEnd(): void {
    this.stream.uncork();
  }

  /** @internal LinkOwner: a line-oriented target is told where each client message ends. */
  get wantsMessageEnds(): boolean {
    return this.stream.wantsMessageEnds;
  }

  /** @internal LinkOwner */
  clientMessageEnd(): void {
    if (!this.targetClosed) this.stream.messageEnd();
  }

  /** @internal LinkOwner */
  clientData(data: Buffer): void {
    if (this.options.traffic)
      this.options.log.debug('session.frame', { session: this.id, dir: 'client>target', bytes: data.length });
    if (this.targetClosed || this.stream.ended) {
      this.bytesDropped += data.length;
      return;
    }
    this.bytesToTarget += data.length;
    if (this.recorder) this.recorder.fromClient(data);
    const stream = this.stream;
    const bytes = data.length;
    const queued = stream.queuedBytes;
    if (queued === 0) this.writesQueued = 0;
    this.writesQueued++;
    const cost = queued + bytes + this.writesQueued * WRITE_OVERHEAD_BYTES;
    if (cost <= this.options.maxBufferBytes) {
      stream.write(data, (err) => err && this.notWritten(bytes));
      return;
    }
    // Over the limit with little in bytes the stream may never report 'drained': this write's completion
    // resumes the client instead (the writes before it are done by then too).
    stream.write(data, (err) => (err ? this.notWritten(bytes) : this.targetDrained()));
    this.link.pause();
  }

  /** @internal TargetOwner: returns true when it kept given bytes (see TargetBytes). */
  targetData(chunk: Buffer, bytes: TargetBytes, written?: () => void): boolean {
    if (this.options.traffic)
      this.options.log.debug('session.frame', {
        session: this.id,
        dir: 'target>client',
        bytes: chunk.length,
      });
    if (!this.link.open) {
      this.bytesDropped += chunk.length;
      return false;
    }
    this.bytesToClient += chunk.length;
    if (this.recorder) this.recorder.fromTarget(chunk);
    const kept =
      bytes === 'borrowed'
        ? this.link.sendCopy(chunk)
        : bytes === 'given'
          ? this.link.send(chunk)
          : bytes === 'given-with-room'
            ? this.link.sendInPlace(chunk, written)
            : this.link.sendText(chunk);
    const limit = this.link.encrypted
      ? Math.min(this.options.maxBufferBytes, MAX_TLS_CLIENT_QUEUE_BYTES)
      : this.options.maxBufferBytes;
    if (this.link.bufferedAmount > limit) this.stream.pause();
    return kept;
  }

  /** @internal */
  targetEnd(): void {
    if (!this.initiate('target', 1000, '')) return;
    // The target will send nothing more. The client hears of it once the target socket has closed: a
    // reset that races the last writes must read as one (1011), not as the 1000 this EOF promises.
    this.targetEnding = true;
    this.stream.end();
    this.armLinger(TARGET_LINGER_MS);
  }

  /** @internal */
  targetError(err: NodeJS.ErrnoException): void {
    const reset = err.code === 'ECONNRESET' || err.code === 'EPIPE';
    const reason = `target connection ${reset ? 'reset' : 'failed'} (${err.code ?? err.message})`;
    if (!this.initiate('target', 1011, reason) && this.targetEnding) this.failEnding(reason);
    if (this.link.open) this.link.close(1011, reason);
  }

  /** @internal */
  targetClose(): void {
    this.targetClosed = true;
    clearTimeout(this.lingerTimer);
    // Nothing waits for the target any more: read the client again, to see its close frame or its FIN.
    if (this.link.paused) this.link.resume();
    if (this.targetEnding) {
      // Everything the target sent is queued ahead of the close frame.
      this.targetEnding = false;
      if (this.link.open) this.link.close(this.closeCode ?? 1000, this.closeReason);
    } else if (!this.clientIsClosed) {
      // Closed without EOF or error, e.g. destroyed by the TLS layer: the client must still hear of it.
      this.initiate('target', 1011, 'target connection closed');
      if (this.link.open) this.link.close(1011, 'target connection closed');
    }
    this.maybeEnd();
  }

  /** @internal LinkOwner: a protocol violation (1002, 1007) or an oversize message (1009); the link closes. */
  clientError(code: number, message: string, violation: FrameViolationKind): void {
    if (this.initiate('bridge', code, message)) this.violation = violation;
  }

  /** @internal LinkOwner */
  clientClosed(code: number, reason: string): void {
    this.clientIsClosed = true;
    if (this.initiate('client', code, reason)) {
      this.options.log.debug('session.client_close', { session: this.id, code });
    }
    if (this.targetClosed) {
      this.maybeEnd();
      return;
    }
    // Deliver what the client sent, then FIN. A vanished client (1006) or a target that will not
    // take the rest within the linger time gets its socket destroyed.
    if (this.link.paused) this.link.resume();
    this.stream.resume();
    this.stream.end();
    const linger = code === 1006 && this.closer === 'client' ? 1000 : TARGET_LINGER_MS;
    this.armLinger(linger);
  }

  /** @internal The linger time is over: a target that has not taken what was queued for it is dropped. */
  lingerOver(): void {
    const left = this.stream.queuedBytes;
    if (this.targetEnding && left > 0) this.failEnding(`target ended without taking the last ${left} bytes`);
    this.stream.destroy();
  }

  /** A write to the target failed: its bytes were not delivered after all. */
  private notWritten(bytes: number): void {
    this.bytesToTarget -= bytes;
    this.bytesDropped += bytes;
  }

  /** The target's EOF turned out not to be a clean close. */
  private failEnding(reason: string): void {
    this.closeCode = 1011;
    this.closeReason = reason;
  }

  private armLinger(ms: number): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = setTimeout(targetLingerOver, ms, this);
    this.lingerTimer.unref();
  }

  /** Records the first cause of the close; later causes are consequences. Returns true if this was first. */
  private initiate(closer: Closer, code: number, reason: string): boolean {
    if (this.closer) return false;
    this.closer = closer;
    this.closeCode = code;
    this.closeReason = reason;
    return true;
  }

  private maybeEnd(): void {
    if (this.ended || !this.clientIsClosed || !this.targetClosed) return;
    this.ended = true;
    clearTimeout(this.lingerTimer);
    this.options.log.info('session.close', {
      session: this.id,
      client: this.client,
      target: this.target,
      bytes_to_target: this.bytesToTarget,
      bytes_to_client: this.bytesToClient,
      bytes_dropped: this.bytesDropped || undefined,
      duration_ms: this.durationMs,
      code: this.closeCode,
      reason: this.closeReason || undefined,
      closed_by: this.closer,
      error: this.violation && FrameViolation[this.violation].code,
    });
    this.onEnd(this);
  }
}

function targetLingerOver(session: Session): void {
  session.lingerOver();
}
