/**
 * Fan-out's write: one frame to one subscriber socket, 10,000 times per message on a busy channel. When
 * nothing waits on the socket, the frame goes to its file descriptor with one write(2), skipping Node's
 * stream machinery (a write request, its callbacks and a nextTick for every write: 0.3-0.7 µs of the ~9 µs
 * a delivery costs, most of the rest being the kernel's loopback send). Whatever the kernel does not take
 * at once (a full socket buffer, an error) goes through socket.write as before, which queues it behind
 * nothing or reports the error on the socket: order, the slow-subscriber bound and errors are unchanged.
 *
 * Only plain TCP and unix sockets: a TLS socket's handle reports the fd of the TCP socket under it, and
 * writing there would skip the encryption.
 *
 * Whether a socket qualifies, its handle and its descriptor are decided once, when the subscriber joins:
 * none of them changes while the handle lives, and the descriptor (like the handle's writeQueueSize) is a
 * native getter, a C++ call per read that cost 3% of the fan-out's CPU when read per write.
 */
import { writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/** What Node keeps on a connected socket's libuv handle (not in its typings; absent once destroyed). */
interface StreamHandle {
  readonly fd?: number;
}

function handleOf(socket: Socket): StreamHandle | null | undefined {
  return (socket as unknown as { _handle?: StreamHandle | null })._handle;
}

export class SubscriberWriter {
  /** The handle written around, or null when every write goes through socket.write. */
  private readonly handle: StreamHandle | null;
  private readonly fd: number;

  constructor(private readonly socket: Socket) {
    const handle = socket instanceof TLSSocket ? undefined : handleOf(socket);
    const fd = handle?.fd;
    this.handle = handle && fd !== undefined && fd >= 0 ? handle : null;
    this.fd = this.handle ? (fd as number) : -1;
  }

  /**
   * Writes `data`; `queued` is the socket's writableLength, which the caller has just read. Nothing
   * queued there means nothing queued in libuv either: every byte the stream hands to the handle counts in
   * writableLength until libuv reports it written, and nothing else writes to a subscriber's handle. The
   * handle must still be the socket's: destroy() drops it at once, before its descriptor is closed and
   * can be reused.
   */
  write(data: Buffer, queued: number): void {
    const socket = this.socket;
    const handle = this.handle;
    if (queued !== 0 || handle === null || handleOf(socket) !== handle) {
      socket.write(data);
      return;
    }
    let written: number;
    try {
      written = writeSync(this.fd, data);
    } catch {
      // EAGAIN (the socket buffer is full) or the peer is gone: the stream queues it or reports it.
      written = 0;
    }
    if (written < data.length) socket.write(written === 0 ? data : data.subarray(written));
  }
}
