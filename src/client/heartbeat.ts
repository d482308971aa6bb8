/**
 * --heartbeat: a ping every interval; a server that has sent nothing (no pong, no data) since the last
 * ping is dead. A ping still queued behind our own unsent data does not count as unanswered: a server that
 * is slow to read is congested, not gone.
 */
import type WebSocket from 'ws';

export class Heartbeat {
  private readonly timer: NodeJS.Timeout;
  private heard = true;

  constructor(
    private readonly ws: WebSocket,
    intervalMs: number,
    private readonly onSilent: () => void,
  ) {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
    ws.on('pong', this.alive);
  }

  /** Anything received from the server proves it is there. */
  readonly alive = (): void => {
    this.heard = true;
  };

  stop(): void {
    clearInterval(this.timer);
    this.ws.off('pong', this.alive);
  }

  private tick(): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (!this.heard && this.ws.bufferedAmount === 0) {
      this.stop();
      this.onSilent();
      return;
    }
    this.heard = false;
    this.ws.ping();
  }
}
