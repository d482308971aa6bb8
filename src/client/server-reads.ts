/**
 * Reading a plain TCP connection to the server (ws://) 256 KiB at a time with net's `onread`, as the server
 * reads its targets (targets/target-feed.ts), instead of into Node's fresh 64 KiB buffer per read: fewer
 * reads, writes and wake-ups per byte, and no buffer per read for the garbage collector.
 *
 * - Until the WebSocket connection takes over, each read is copied and pushed into the socket's readable
 *   side, so that a proxy's CONNECT answer and Node's HTTP client (the handshake) read it as usual, with
 *   'data' events, pause() and backpressure. Bytes read after the 101 wait there until the takeover.
 * - At the takeover, what the readable side holds goes first. From then on reads go into one buffer shared
 *   by every connection (JavaScript handles one read at a time) and reach the taker as copies, which it may
 *   keep. While a connection streams (its last read brought at least 64 KiB), it reads into a buffer of its
 *   own instead and the taker gets a view, without a copy: a taker that still refers to the bytes when it
 *   returns (they wait in a write queue) keeps that buffer, and the next read goes into a fresh one. At most
 *   MAX_OWN_BUFFERS are held by connections at a time; beyond that they read into the shared buffer.
 *
 * TLS (wss://) cannot read this way: its sockets keep Node's 'data' events.
 */
import { connect, type Socket } from 'node:net';

/** Takes one read; returns true when it still refers to the bytes after returning. */
export type ReadTaker = (chunk: Buffer) => boolean;

const READ_BUFFER_BYTES = 256 * 1024;
/** A read of at least this much says the server is streaming (Node's own reads are 64 KiB). */
const STREAMING_FROM_BYTES = 64 * 1024;
/** 256 KiB each: at most 8 MiB held by connections, whatever their number. */
const MAX_OWN_BUFFERS = 32;
const MAX_SPARE_BUFFERS = 8;
/** Allocated at the first connection: a process that never reads this way does not hold it. */
let sharedReadBuffer: Buffer | undefined;
const spareBuffers: Buffer[] = [];
let ownBuffersHeld = 0;

const kReads = Symbol('wstcp.server-reads');
type ReadsSocket = Socket & { [kReads]?: ServerReads };

export class ServerReads {
  private taker: ReadTaker | undefined;
  /** The buffer of this connection's next read while it streams; undefined: the shared one. */
  private own: Buffer | undefined;

  private constructor(private readonly socket: Socket) {}

  /** A TCP connection to `host:port` that reads this way (see `takeOver`). */
  static connect(host: string, port: number): Socket {
    let reads: ServerReads | undefined;
    const socket: ReadsSocket = connect({
      host,
      port,
      onread: {
        // Node asks for the next read's buffer after each read.
        buffer: () => {
          sharedReadBuffer ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
          return reads?.own ?? sharedReadBuffer;
        },
        callback: (n: number, buf: Uint8Array) => reads?.read(n, buf as Buffer) ?? true,
      },
    });
    reads = new ServerReads(socket);
    socket[kReads] = reads;
    socket.once('close', () => reads.release());
    return socket;
  }

  /** The reads of a socket made by `ServerReads.connect`; undefined for others (they emit 'data'). */
  static of(socket: Socket): ServerReads | undefined {
    return (socket as ReadsSocket)[kReads];
  }

  /** From now on every read goes to `taker`: first what the readable side holds, then new reads. */
  takeOver(taker: ReadTaker): void {
    this.taker = taker;
    for (let held = this.socket.read() as Buffer | null; held !== null; held = this.socket.read()) {
      taker(held);
    }
    this.socket.resume();
  }

  /** Returns false to stop reading (before the takeover, when the readable side is full). */
  private read(n: number, buf: Buffer): boolean {
    const taker = this.taker;
    if (taker === undefined) return this.socket.push(Buffer.from(buf.subarray(0, n)));
    const streaming = n >= STREAMING_FROM_BYTES;
    const own = this.own;
    if (own === undefined || buf !== own) {
      taker(Buffer.from(buf.subarray(0, n)));
      if (streaming) this.own = takeOwnBuffer();
      return true;
    }
    if (taker(own.subarray(0, n))) {
      // Its bytes wait in a queue: the buffer is the taker's now (the collector frees it once written).
      ownBuffersHeld--;
      this.own = streaming ? takeOwnBuffer() : undefined;
    } else if (!streaming) {
      this.release();
    }
    return true;
  }

  private release(): void {
    if (this.own === undefined) return;
    ownBuffersHeld--;
    if (spareBuffers.length < MAX_SPARE_BUFFERS) spareBuffers.push(this.own);
    this.own = undefined;
  }
}

function takeOwnBuffer(): Buffer | undefined {
  if (ownBuffersHeld >= MAX_OWN_BUFFERS) return undefined;
  ownBuffersHeld++;
  return spareBuffers.pop() ?? Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
}
