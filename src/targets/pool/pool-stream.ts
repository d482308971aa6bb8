/**
 * The stream of a session opened through a pool: the chosen member's stream, which also tells the pool
 * when the session on that member is over (least-conn counts live sessions, the counters end them).
 * That is when the stream closes, or when it is dropped before a session ever took it (a client that left
 * between the connect and the 101). Everything else goes straight to the member's stream.
 */
import type { TargetBytes, TargetOwner, TargetStream } from '../target.js';

export class PoolStream implements TargetStream {
  constructor(
    private readonly inner: TargetStream,
    private readonly sessionOver: () => void,
  ) {}

  get queuedBytes(): number {
    return this.inner.queuedBytes;
  }

  get paused(): boolean {
    return this.inner.paused;
  }

  get ended(): boolean {
    return this.inner.ended;
  }

  get wantsMessageEnds(): boolean {
    return this.inner.wantsMessageEnds;
  }

  attach(owner: TargetOwner): void {
    const sessionOver = this.sessionOver;
    this.inner.attach({
      targetData: (data: Buffer, bytes: TargetBytes, written?: () => void) =>
        owner.targetData(data, bytes, written),
      targetDrained: () => owner.targetDrained(),
      targetEnd: () => owner.targetEnd(),
      targetError: (err) => owner.targetError(err),
      targetClose: () => {
        sessionOver();
        owner.targetClose();
      },
    });
  }

  write(data: Buffer, written?: (err?: Error | null) => void): void {
    this.inner.write(data, written);
  }

  messageEnd(): void {
    this.inner.messageEnd();
  }

  cork(): void {
    this.inner.cork();
  }

  uncork(): void {
    this.inner.uncork();
  }

  pause(): void {
    this.inner.pause();
  }

  resume(): void {
    this.inner.resume();
  }

  end(): void {
    this.inner.end();
  }

  destroy(): void {
    this.inner.destroy();
    this.sessionOver();
  }
}
