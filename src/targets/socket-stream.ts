/**
 * A connected socket (TCP, unix, or TLS over either; any Duplex) as a TargetStream. Plain sockets read through their
 * TargetFeed (no buffer per read: target-feed.ts); TLS sockets emit 'data'. The socket is tagged with its
 * owner so that every stream shares one set of listener functions: with thousands of idle sessions,
 * per-session closures are a good part of their memory.
 */
import type { Duplex } from 'node:stream';
import type { TargetOwner, TargetStream } from './target.js';
import { TargetFeed } from './target-feed.js';

const kOwner = Symbol('wstcp.target-owner');
type Tagged = Duplex & { [kOwner]: TargetOwner };

export class SocketStream implements TargetStream {
  constructor(private readonly socket: Duplex) {
    // Until a session attaches, an early reset must not become an unhandled 'error' ('close' reports it).
    socket.on('error', ignoreEarlyError);
  }

  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  get paused(): boolean {
    return this.socket.isPaused();
  }

  /** Sockets carry bytes, not messages (a getter: no field in each of thousands of idle streams). */
  get wantsMessageEnds(): boolean {
    return false;
  }

  attach(owner: TargetOwner): void {
    const socket = this.socket as Tagged;
    socket[kOwner] = owner;
    socket.removeListener('error', ignoreEarlyError);
    const feed = TargetFeed.of(socket);
    if (feed) feed.attach(owner);
    else socket.on('data', onData);
    // EOF may have come before the session (a feed's socket reports it whether or not anyone listens).
    if (socket.readableEnded) queueMicrotask(() => owner.targetEnd());
    socket.on('drain', onDrain);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
    // The target may have gone away while the handshake was being answered.
    if (socket.destroyed) queueMicrotask(() => owner.targetClose());
  }

  /** A TLS socket (not half-open) ends its writable side by itself when the target ends. */
  get ended(): boolean {
    return this.socket.writableEnded;
  }

  write(data: Buffer, written?: (err?: Error | null) => void): void {
    this.socket.write(data, written);
  }

  messageEnd(): void {}

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    // Ending twice would only make Node build an error object to discard.
    if (!this.socket.writableEnded) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function ownerOf(socket: unknown): TargetOwner {
  return (socket as Tagged)[kOwner];
}

function ignoreEarlyError(): void {}

// The shared listeners: `this` is the socket, tagged with its owner.
function onData(this: unknown, chunk: Buffer): void {
  ownerOf(this).targetData(chunk, 'given');
}
function onDrain(this: unknown): void {
  ownerOf(this).targetDrained();
}
function onEnd(this: unknown): void {
  ownerOf(this).targetEnd();
}
function onError(this: unknown, err: NodeJS.ErrnoException): void {
  ownerOf(this).targetError(err);
}
function onClose(this: unknown): void {
  ownerOf(this).targetClose();
}
