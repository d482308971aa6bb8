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
 */
import { writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/** What Node keeps on a connected socket's libuv handle (not in its typings; absent once destroyed). */
interface StreamHandle {
  readonly fd?: number;
  readonly writeQueueSize?: number;
}

export function writeToSubscriber(socket: Socket, data: Buffer): void {
  const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
  const fd = handle?.fd;
  if (
    fd === undefined ||
    fd < 0 ||
    handle?.writeQueueSize !== 0 ||
    socket.writableLength !== 0 ||
    socket instanceof TLSSocket
  ) {
    socket.write(data);
    return;
  }
  let written: number;
  try {
    written = writeSync(fd, data);
  } catch {
    // EAGAIN (the socket buffer is full) or the peer is gone: the stream queues it or reports it.
    written = 0;
  }
  if (written < data.length) socket.write(written === 0 ? data : data.subarray(written));
}
