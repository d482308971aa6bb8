/**
 * A WebSocket subscriber on wstcp's own framing: each message goes out as the frame built once for all
 * subscribers (message.ts), written straight to the socket (direct-write.ts), so an idle subscriber costs
 * its socket and this object. With Nchan's `ws+meta.nchan` subprotocol each frame carries the id and
 * content type first.
 *
 * What the client sends is parsed only for control frames: a ping is answered, a close frame is answered
 * and the connection ends; a data frame closes with 1008 as Nchan does on a subscriber-only endpoint.
 * A subscriber whose socket holds more than `queueBytes` unsent is too slow: it is closed with 1013
 * (it may reconnect from its last id) or, with --channel-slow skip, misses messages until it catches up.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../observe/log.js';
import { FrameParser, type FrameSink } from '../websocket/frame-parser.js';
import { closeFrame, frame, Opcode, parseClosePayload } from '../websocket/frames.js';
import { SubscriberWriter } from './direct-write.js';
import { type ChannelMessage, wsFrames, wsMetaFrame, wsMetaFrames } from './message.js';
import type { SharedEncoding } from './shared-encoding.js';
import type { SubscriberSink } from './subscription.js';

export type SlowPolicy = 'close' | 'skip';

export interface SubscriberLimits {
  /** Bytes a subscriber may have waiting before it counts as slow. */
  readonly queueBytes: number;
  readonly slow: SlowPolicy;
  /**
   * --channel-nodelay: send each message at once. By default (as Nchan) the kernel may hold a small
   * message while an earlier one is unacknowledged and send them together: a fan-out of back-to-back
   * messages then costs half the CPU per delivery (docs/performance.md).
   */
  readonly noDelay: boolean;
}

/** Close code for a subscriber that fell behind: "try again later" (it may resume from its last id). */
export const SLOW_CLOSE_CODE = 1013;
/** What Nchan sends when a channel is deleted: 1001 with the reason "410 Gone". */
const GONE_CLOSE = closeFrame(1001, '410 Gone');
/** A subscriber's close frame gets an answer; the socket is destroyed if the client never ends it. */
const LINGER_MS = 5000;
const SHUTDOWN_LINGER_MS = 1000;
const MAX_CLIENT_MESSAGE = 64 * 1024;

export class WsSubscriber implements SubscriberSink, FrameSink {
  private readonly parser: FrameParser;
  private readonly writer: SubscriberWriter;
  /** How messages are framed for this subscriber: shared by every subscriber framed alike. */
  private readonly frames: SharedEncoding;
  private ended = false;
  private skipping = false;
  private skipped = 0;

  constructor(
    private readonly socket: Socket,
    meta: boolean,
    private readonly limits: SubscriberLimits,
    private readonly log: Logger,
    private readonly label: string,
  ) {
    this.parser = new FrameParser(this, MAX_CLIENT_MESSAGE);
    this.writer = new SubscriberWriter(socket);
    this.frames = meta ? wsMetaFrames : wsFrames;
    socket.setNoDelay(limits.noDelay);
  }

  /** Starts reading the client (after the 101 is written); `head` is what came with the handshake. */
  attach(head: Buffer): void {
    this.socket.on('data', (chunk: Buffer) => this.parser.push(chunk));
    // Upgraded sockets allow half-open connections: a client that goes away without a close frame only
    // ends its side, and the socket would stay open (and subscribed) until written to.
    this.socket.once('end', () => this.clientEnded());
    if (head.length > 0) this.parser.push(head);
  }

  get open(): boolean {
    return !this.ended;
  }

  send(message: ChannelMessage, multiId: string | undefined): void {
    if (this.ended) return;
    // A multiplexed ws+meta subscriber's frames carry its own position in every channel: built for it.
    const data =
      multiId !== undefined && this.frames === wsMetaFrames
        ? wsMetaFrame(message, multiId)
        : this.frames.of(message);
    const queued = this.writer.queued();
    if (queued + data.length > this.limits.queueBytes) {
      this.tooSlow();
      return;
    }
    this.write(data, queued);
  }

  /**
   * Several messages of one channel in one write, the frames end to end. When they do not fit in what
   * the subscriber may have waiting, each goes as if sent alone (the slow-subscriber rule per message).
   */
  sendBatch(batch: readonly ChannelMessage[], from: number): void {
    if (this.ended) return;
    const data = this.frames.ofBatch(batch, from);
    const queued = this.writer.queued();
    if (queued + data.length <= this.limits.queueBytes) {
      this.write(data, queued);
      return;
    }
    for (let i = from; i < batch.length; i++) this.send(batch[i] as ChannelMessage, undefined);
  }

  private write(data: Buffer, queued: number): void {
    if (this.skipping) {
      this.log.info('channel.subscriber_caught_up', { subscriber: this.label, skipped: this.skipped });
      this.skipping = false;
      this.skipped = 0;
    }
    this.writer.write(data, queued);
  }

  deleted(): void {
    this.close(GONE_CLOSE);
  }

  /** Ends the connection with 1001, waiting less for the client's close frame. */
  shutdown(): void {
    this.close(closeFrame(1001, 'server shutting down'), SHUTDOWN_LINGER_MS);
  }

  frameData(): void {
    this.parser.stop();
    this.close(closeFrame(1008, 'subscribers cannot publish here'));
  }

  controlFrame(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.Ping) {
      const queued = this.writer.queued();
      // Through the writer like every frame, so that it keeps count of what the socket holds.
      if (!this.ended && queued < this.limits.queueBytes)
        this.writer.write(frame(Opcode.Pong, payload), queued);
    } else if (opcode === Opcode.Close) {
      const parsed = parseClosePayload(payload);
      this.close(
        parsed.ok ? closeFrame(parsed.code === 1005 ? 1000 : parsed.code, '') : closeFrame(parsed.code, ''),
      );
    }
  }

  frameError(code: number, message: string): void {
    this.close(closeFrame(code, message));
  }

  private clientEnded(): void {
    this.ended = true;
    this.parser.stop();
    this.socket.destroy();
  }

  private tooSlow(): void {
    if (this.limits.slow === 'skip') {
      if (!this.skipping) {
        this.skipping = true;
        this.log.warn('channel.subscriber_slow', {
          subscriber: this.label,
          action: 'skip',
          queued: this.writer.queued(),
        });
      }
      this.skipped++;
      return;
    }
    this.log.warn('channel.subscriber_slow', {
      subscriber: this.label,
      action: 'close',
      code: SLOW_CLOSE_CODE,
      queued: this.writer.queued(),
    });
    this.close(closeFrame(SLOW_CLOSE_CODE, 'subscriber too slow'));
  }

  /** Sends `closing` (once) and ends the socket; a client that never reads is destroyed after a while. */
  private close(closing: Buffer, lingerMs = LINGER_MS): void {
    if (this.ended) return;
    this.ended = true;
    this.parser.stop();
    const socket = this.socket;
    if (socket.destroyed) return;
    socket.end(closing);
    const timer = setTimeout(() => socket.destroy(), lingerMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }
}
