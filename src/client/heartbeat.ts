/**
 * --heartbeat: a ping every interval; a server that has sent nothing (no pong, no data) since the last
 * ping is dead. Silence does not count while the session is congested: a ping still queued behind our own
 * unsent data, or an answer not read because the local side is not keeping up, says nothing about the server.
 */
import type { ServerConnection } from './connection.js';

export class Heartbeat {
  private readonly timer: NodeJS.Timeout;
  private heard = true;

  constructor(
    private readonly ws: ServerConnection,
    intervalMs: number,
    private readonly onSilent: () => void,
    /** True while our reading from the server is paused for the local side. */
    private readonly readingPaused: () => boolean,
  ) {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  /** Anything received from the server proves it is there. */
  alive(): void {
    this.heard = true;
  }

  /**
   * Reading from the server resumes after a pause: what it sent meanwhile has yet to be read (a ws://
   * socket reads nothing while paused), so the silence so far does not count.
   */
  readingResumed(): void {
    this.heard = true;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    if (!this.ws.open) return;
    if (!this.heard && this.ws.bufferedAmount === 0 && !this.readingPaused()) {
      this.stop();
      this.onSilent();
      return;
    }
    this.heard = false;
    this.ws.ping();
  }
}
