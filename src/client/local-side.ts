/**
 * The local end of a client session: a TCP or unix socket (`wstcp forward`) or stdin/stdout
 * (`wstcp connect`). The session only reads `input`, writes `output`, and at the end calls `endOutput()`
 * (everything written reaches the kernel, then the peer is told EOF) and `release()`.
 */
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';

export interface LocalSide {
  readonly input: Readable;
  readonly output: Writable;
  /** Resolves once everything written so far has been handed to the kernel and EOF is on its way. */
  endOutput(): Promise<void>;
  /** Lets go of the local end; the only teardown path of its resources. */
  release(): void;
}

/**
 * How long a socket whose output ended may wait for its peer's EOF before it is destroyed. Destroying it at
 * once could turn unread incoming bytes into a reset that discards outgoing bytes not yet acknowledged.
 */
const SOCKET_LINGER_MS = 2000;

/** A socket accepted by `wstcp forward` (created with allowHalfOpen, so its EOF does not end our output). */
export function socketSide(socket: Socket): LocalSide {
  return {
    input: socket,
    output: socket,
    endOutput: () =>
      new Promise((resolve) => {
        if (socket.destroyed || socket.writableEnded) return resolve();
        socket.end(() => resolve());
        socket.once('close', () => resolve());
      }),
    release: () => {
      if (socket.destroyed) return;
      // Keep reading (and dropping) until the peer's EOF closes the socket, or the linger time ends.
      socket.resume();
      const timer = setTimeout(() => socket.destroy(), SOCKET_LINGER_MS);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
      if (socket.readableEnded) socket.destroy();
    },
  };
}

/** stdin and stdout (`wstcp connect`); the process exits after the session, which closes them. */
export function stdioSide(input: Readable, output: Writable): LocalSide {
  return {
    input,
    output,
    endOutput: () =>
      new Promise((resolve) => {
        if (output.destroyed || output.writableEnded) return resolve();
        // An empty write's callback runs after every earlier write was flushed.
        output.write('', () => resolve());
      }),
    release: () => {
      input.pause();
    },
  };
}
