/**
 * Reading plain TCP and unix targets without a buffer per read.
 *
 * By default Node allocates a fresh 64 KiB buffer for every read and leaves it to the garbage collector, so
 * a fast target streams through cold memory. A target socket made here reads instead (net's `onread`) into
 * one buffer shared by every target socket: JavaScript handles one read at a time, and the session copies
 * what it keeps before the next read (into frame buffers that are reused while the client keeps up; see
 * FrameLink.sendTransient). No buffer is held per socket, so idle sessions cost nothing extra.
 *
 * Bytes that arrive before the session exists (a VNC server greets as soon as it is connected) are
 * copied aside and reading pauses until the session attaches. TLS targets (--ssl-target) cannot read this
 * way and keep Node's 'data' events.
 */
import { Socket } from 'node:net';

/** Where a target's bytes go once the session exists. */
export interface FeedOwner {
  /** `data` is only valid during the call when `transient` (it is the shared read buffer). */
  targetData(data: Buffer, transient: boolean): void;
}

const READ_BUFFER_BYTES = 256 * 1024;
const sharedReadBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);

const kFeed = Symbol('wstcp.target-feed');
type FeedSocket = Socket & { [kFeed]?: TargetFeed };

export class TargetFeed {
  private owner: FeedOwner | undefined;
  private early: Buffer[] | undefined;

  private constructor(private readonly socket: Socket) {}

  /** A socket (not yet connected, half-open allowed) whose reads go to its feed; see `TargetFeed.of`. */
  static socket(): Socket {
    let feed: TargetFeed | undefined;
    // `onread` is documented for net.connect(); the Socket constructor is where Node reads it.
    const options = {
      allowHalfOpen: true,
      onread: { buffer: sharedReadBuffer, callback: (n: number) => feed?.read(n) },
    };
    const socket: FeedSocket = new Socket(options);
    feed = new TargetFeed(socket);
    socket[kFeed] = feed;
    return socket;
  }

  /** The feed of a socket made by `TargetFeed.socket`; undefined for others (they emit 'data'). */
  static of(socket: unknown): TargetFeed | undefined {
    return (socket as FeedSocket)[kFeed];
  }

  /** From now on bytes go to `owner`; what arrived before goes first, then reading resumes. */
  attach(owner: FeedOwner): void {
    this.owner = owner;
    const early = this.early;
    this.early = undefined;
    if (early === undefined) return;
    for (const chunk of early) owner.targetData(chunk, false);
    this.socket.resume();
  }

  private read(n: number): void {
    const data = sharedReadBuffer.subarray(0, n);
    if (this.owner !== undefined) {
      this.owner.targetData(data, true);
      return;
    }
    if (this.early === undefined) this.early = [];
    this.early.push(Buffer.from(data));
    this.socket.pause();
  }
}
