/**
 * Fan-out's write: one frame to one subscriber socket, 10,000 times per message on a busy channel. When
 * nothing waits on the socket, the frame goes to the kernel at once, skipping Node's stream machinery (a
 * write request, its callbacks and a nextTick for every write: 0.3-0.7 µs of the ~9 µs a delivery costs,
 * most of the rest being the kernel's loopback send). Whatever the kernel does not take at once (a full
 * socket buffer, an error) waits or is reported as socket.write would: order, the slow-subscriber bound
 * and errors are unchanged.
 *
 * Only plain TCP and unix sockets: a TLS socket's handle reports the fd of the TCP socket under it, and
 * writing there would skip the encryption.
 *
 * Whether a socket qualifies, its handle and its descriptor are decided once, when the subscriber joins:
 * none of them changes while the handle lives, and the descriptor (like the handle's writeQueueSize) is a
 * native getter, a C++ call per read that cost 3% of the fan-out's CPU when read per write. A delivery
 * touches as few objects as it can (this writer and the handle): at 20 messages a second to 1,000
 * subscribers, every object of a subscriber is out of the CPU caches by the next message, and reading the
 * socket's writableLength (the socket and its stream state) and its _handle per delivery cost a third of
 * the fan-out's user CPU (docs/performance.md).
 *
 * The write itself is the one Node's own streams make (lib/internal/stream_base_commons.js): the
 * handle's writeBuffer, libuv's try-write, which hands what the kernel did not take to libuv's queue,
 * completing later like any socket write. fs.writeSync costs twice its JavaScript and native time per
 * call (argument checks, a trace-category lookup, a sync fs request): 0.33 against 0.17 µs of user CPU
 * per write. Its request class comes through process.binding('stream_wrap') (deprecated in the docs,
 * DEP0111, without a runtime warning, and on the allow list of current Node); without it, or with a
 * handle that lacks writeBuffer, the write falls back to fs.writeSync and socket.write for the rest.
 */
import { writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { getSystemErrorName } from 'node:util';

/** A write request of Node's stream handles; libuv keeps `buffer` in use until `oncomplete`. */
interface WriteRequest {
  oncomplete?: (status: number) => void;
  buffer?: Buffer;
}

/** What Node keeps on a connected socket's libuv handle (not in its typings; absent once destroyed). */
interface StreamHandle {
  readonly fd?: number;
  readonly writeQueueSize?: number;
  /** 0, or a negative errno when nothing was written; undefined once the handle is freed. */
  writeBuffer?(req: WriteRequest, data: Buffer): number | undefined;
}

interface StreamWrapBinding {
  readonly WriteWrap: new () => WriteRequest;
  /** Where writeBuffer reports whether libuv kept part of the write for later. */
  readonly streamBaseState: Int32Array;
  readonly kLastWriteWasAsync: number;
}

function loadStreamWrap(): StreamWrapBinding | undefined {
  try {
    const binding = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding(
      'stream_wrap',
    );
    const { WriteWrap, streamBaseState, kLastWriteWasAsync } = binding;
    if (
      typeof WriteWrap === 'function' &&
      streamBaseState instanceof Int32Array &&
      typeof kLastWriteWasAsync === 'number'
    ) {
      return { WriteWrap, streamBaseState, kLastWriteWasAsync };
    }
  } catch {
    // Not available in this runtime: fs.writeSync it is.
  }
  return undefined;
}

const streamWrap = loadStreamWrap();
/** A write that completes at once leaves its request untouched: one serves them all until one waits. */
let spareRequest = streamWrap ? new streamWrap.WriteWrap() : undefined;

function handleOf(socket: Socket): StreamHandle | null | undefined {
  return (socket as unknown as { _handle?: StreamHandle | null })._handle;
}

export class SubscriberWriter {
  /** The handle written around, or null when every write goes through socket.write. */
  private readonly handle: StreamHandle | null;
  private readonly fd: number;
  private readonly tryWrite: boolean;
  /** Bytes of a direct write that libuv still holds (it took what the kernel did not). */
  private held = 0;
  /**
   * Whether the stream may still hold bytes: true until its queue is seen empty, and again after every
   * write through it. While false, its writableLength is known to be 0 without reading it.
   */
  private streamMayHold = true;

  constructor(private readonly socket: Socket) {
    const handle = socket instanceof TLSSocket ? undefined : handleOf(socket);
    const fd = handle?.fd;
    this.handle = handle && fd !== undefined && fd >= 0 ? handle : null;
    this.fd = this.handle ? (fd as number) : -1;
    this.tryWrite = spareRequest !== undefined && typeof this.handle?.writeBuffer === 'function';
  }

  /**
   * Bytes waiting to be sent: the stream's queue and what libuv holds of a direct write. Every write to
   * the socket after this writer exists goes through write(), so the stream's queue is read only while it
   * may hold something.
   */
  queued(): number {
    if (this.streamMayHold) {
      const inStream = this.socket.writableLength;
      if (inStream !== 0) return inStream + this.held;
      this.streamMayHold = false;
    }
    return this.held;
  }

  /**
   * Writes `data`; `queued` is what queued() has just returned. Nothing queued in the stream means
   * nothing queued in libuv either, but for a direct write it holds (counted in `held`): every byte the
   * stream hands to the handle counts in writableLength until libuv reports it written, and nothing else
   * writes to a subscriber's handle.
   *
   * Through the handle, a socket destroyed meanwhile needs no check: destroy() closes the handle at once
   * and libuv then refuses the write (EBADF; a handle already freed answers undefined), which goes to
   * the stream to be reported. A bare descriptor can be reused once closed: that write first checks that
   * the handle is still the socket's (destroy() drops it before closing the descriptor).
   */
  write(data: Buffer, queued: number): void {
    const handle = this.handle;
    if (queued !== 0 || handle === null) this.writeToStream(data);
    else if (this.tryWrite) this.writeThroughHandle(handle, data);
    else if (handleOf(this.socket) !== handle) this.writeToStream(data);
    else this.writeToDescriptor(data);
  }

  private writeToStream(data: Buffer): void {
    this.streamMayHold = true;
    this.socket.write(data);
  }

  private writeThroughHandle(handle: StreamHandle, data: Buffer): void {
    const req = spareRequest as WriteRequest;
    const err = (handle.writeBuffer as NonNullable<StreamHandle['writeBuffer']>)(req, data);
    if (err !== 0) {
      // The socket cannot be written (the peer is gone, the socket was destroyed; the try-write wrote
      // nothing, or libuv could not queue the rest of a socket that stopped being writable): the stream's
      // write fails and reports it.
      this.writeToStream(data);
      return;
    }
    const binding = streamWrap as StreamWrapBinding;
    if (binding.streamBaseState[binding.kLastWriteWasAsync] === 0) return;
    // The kernel took part or none of it; libuv sends the rest when the socket can take it, ahead of
    // anything written after (through the stream, since held > 0).
    spareRequest = new binding.WriteWrap();
    req.buffer = data;
    this.held = handle.writeQueueSize ?? data.length;
    req.oncomplete = (status: number) => {
      this.held = 0;
      if (status < 0 && !this.socket.destroyed) {
        const code = getSystemErrorName(status);
        const error = Object.assign(new Error(`write ${code}`), {
          code,
          errno: status,
          syscall: 'write',
        });
        this.socket.destroy(error);
      }
    };
  }

  private writeToDescriptor(data: Buffer): void {
    let written: number;
    try {
      written = writeSync(this.fd, data);
    } catch {
      // EAGAIN (the socket buffer is full) or the peer is gone: the stream queues it or reports it.
      written = 0;
    }
    if (written < data.length) this.writeToStream(written === 0 ? data : data.subarray(written));
  }
}
