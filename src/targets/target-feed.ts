/**
 * Reading plain TCP and unix targets without a fresh buffer per read.
 *
 * By default Node allocates a new 64 KiB buffer for every read and leaves it to the garbage collector, so a
 * fast target streams through cold memory. A target socket made here reads instead with net's `onread`:
 *
 * - Normally into one buffer shared by every target socket. JavaScript handles one read at a time, and the
 *   session copies what it keeps before the next read (see FrameLink.sendCopy). No buffer is held per
 *   socket, so idle sessions cost nothing for it.
 * - While a target streams (its last read brought at least 64 KiB), into a buffer of the socket's own,
 *   which is handed to the client write without a copy and read into again as soon as that write
 *   completed at once. At most STREAMING_BUFFERS are held by sockets at a time (a socket that stops right
 *   after a large read keeps its buffer until its next read: the cap bounds what such sockets hold in all),
 *   and at most as many again wait as spares.
 *
 * Bytes that arrive before the session exists are copied aside and reading pauses until the session
 * attaches. TLS targets (--ssl-target) cannot read this way and keep Node's 'data' events. This is the
 * socket kinds' own business (socket-stream.ts): the relay only sees TargetBytes.
 */
import { Socket } from 'node:net';
import { MAX_HEADER_BYTES } from '../websocket/frames.js';
import type { TargetOwner } from './target.js';

/** Where a target's bytes go once the session exists (see TargetBytes for what each read hands over). */
export type FeedOwner = Pick<TargetOwner, 'targetData'>;

const READ_BUFFER_BYTES = 256 * 1024;
/** A read of at least this much says the target is streaming (Node's own reads are 64 KiB). */
const STREAMING_FROM_BYTES = 64 * 1024;
/** 256 KiB each: at most 8 MiB held by sockets (and 8 MiB of spares), whatever the number of sessions. */
const STREAMING_BUFFERS = 32;
const sharedReadBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
/** Streaming buffers not held by any socket, ready for the next one. */
const spareStreamingBuffers: Buffer[] = [];
/** Streaming buffers held by sockets right now. */
let streamingBuffersHeld = 0;
/** Streaming buffers whose bytes wait in a client's queue; they become spares once written. */
const queuedStreamingBuffers = new WeakSet<Buffer>();

const kFeed = Symbol('wstcp.target-feed');
type FeedSocket = Socket & { [kFeed]?: TargetFeed };

export class TargetFeed {
  private owner: FeedOwner | undefined;
  private early: Buffer[] | undefined;
  /** The buffer the next read goes into while streaming (after room for a header); undefined: the shared one. */
  private own: Buffer | undefined;

  private constructor(private readonly socket: Socket) {}

  /** A socket (not yet connected, half-open allowed) whose reads go to its feed; see `TargetFeed.of`. */
  static socket(): Socket {
    let feed: TargetFeed | undefined;
    // `onread` is documented for net.connect(); the Socket constructor is where Node reads it. With a
    // function for `buffer`, Node asks for the next read's buffer after each read.
    const options = {
      allowHalfOpen: true,
      onread: {
        buffer: () => feed?.own?.subarray(MAX_HEADER_BYTES) ?? sharedReadBuffer,
        callback: (n: number, buf: Uint8Array) => feed?.read(n, buf),
      },
    };
    const socket: FeedSocket = new Socket(options);
    feed = new TargetFeed(socket);
    socket[kFeed] = feed;
    socket.on('close', releaseOnClose);
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
    for (const chunk of early) owner.targetData(chunk, 'given');
    this.socket.resume();
  }

  /** @internal The socket closed: its streaming buffer goes back. */
  release(): void {
    if (this.own === undefined) return;
    giveBack(this.own);
    this.own = undefined;
  }

  private read(n: number, buf: Uint8Array): void {
    const streaming = n >= STREAMING_FROM_BYTES;
    const owner = this.owner;
    if (owner === undefined) {
      if (this.early === undefined) this.early = [];
      this.early.push(Buffer.from(buf.subarray(0, n)));
      this.socket.pause();
      return;
    }
    const own = this.own;
    if (own === undefined) {
      owner.targetData(sharedReadBuffer.subarray(0, n), 'borrowed');
      // A large read: more is coming. Read it into a buffer of this socket's own, if one is free.
      if (streaming) this.own = takeStreamingBuffer();
      return;
    }
    const data = own.subarray(MAX_HEADER_BYTES, MAX_HEADER_BYTES + n);
    const kept = owner.targetData(data, 'given-with-room', () => recycleWhenWritten(own));
    if (kept) {
      // The bytes wait in the client's queue: the buffer is theirs until written, then a spare.
      streamingBuffersHeld--;
      queuedStreamingBuffers.add(own);
      this.own = streaming ? takeStreamingBuffer() : undefined;
    } else if (!streaming) {
      // Written at once, and the target has paused: back to the shared buffer.
      giveBack(own);
      this.own = undefined;
    }
  }
}

/** How many streaming buffers sockets hold right now (at most STREAMING_BUFFERS). */
export function streamingBuffersInUse(): number {
  return streamingBuffersHeld;
}

function takeStreamingBuffer(): Buffer | undefined {
  if (streamingBuffersHeld >= STREAMING_BUFFERS) return undefined;
  streamingBuffersHeld++;
  return spareStreamingBuffers.pop() ?? Buffer.allocUnsafeSlow(MAX_HEADER_BYTES + READ_BUFFER_BYTES);
}

function giveBack(buffer: Buffer): void {
  streamingBuffersHeld--;
  spareStreamingBuffers.push(buffer);
}

/** A streaming buffer's write completed: if it was queued (not reused at once), it is a spare now. */
function recycleWhenWritten(buffer: Buffer): void {
  if (queuedStreamingBuffers.delete(buffer) && spareStreamingBuffers.length < STREAMING_BUFFERS)
    spareStreamingBuffers.push(buffer);
}

function releaseOnClose(this: Socket): void {
  TargetFeed.of(this)?.release();
}
