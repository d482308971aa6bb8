/**
 * --max-forks N: at most N programs alive at once (WebSocket sessions and CGI requests together, as in
 * websocketd). A program holds its slot until it has been reaped, not merely until its session closed.
 */
import { refuse } from '../../errors.js';

export class ForkLimit {
  private live = 0;

  /** @param max the limit; undefined or 0 means no limit (websocketd's default). */
  constructor(readonly max: number | undefined) {}

  get count(): number {
    return this.live;
  }

  /**
   * Takes a slot, or throws TOO_MANY_PROGRAMS (429). The returned function gives it back; calling it
   * more than once gives back one slot only.
   */
  acquire(): () => void {
    if (this.max && this.live >= this.max) {
      throw refuse(
        'TOO_MANY_PROGRAMS',
        `${this.max} programs are running already (--max-forks); try again later`,
      );
    }
    this.live++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.live--;
    };
  }
}
