/**
 * Failed accepts, reported at a bounded rate. libuv hides the usual one: when the process is out of file
 * descriptors (EMFILE), it accepts and closes pending connections itself and Node never hears of it, so
 * clients are dropped without a word in the log. The listener therefore checks after each accept that a
 * descriptor is still free; when none is, the next connections will be dropped, and that is reported.
 */
import { closeSync, openSync } from 'node:fs';
import { devNull } from 'node:os';
import type { Logger } from '../observe/log.js';

const CAUSES: Readonly<Record<string, string>> = {
  EMFILE:
    'the process is out of file descriptors: new connections are dropped until some close (raise ulimit -n)',
  ENFILE: 'the system is out of file descriptors: new connections are dropped until some close',
};

export class AcceptFailures {
  private lastLoggedAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  /** At most one `accept.failed` line per `intervalMs`; the next one counts the failures left out. */
  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
  ) {}

  /**
   * Reports EMFILE/ENFILE when no descriptor is left after an accept. Costs an open and a close of the
   * null device, which the kernel serves without touching a disk.
   */
  checkHeadroom(): void {
    try {
      closeSync(openSync(devNull, 'r'));
    } catch (err) {
      this.report(err as NodeJS.ErrnoException);
    }
  }

  /** Logs `err` unless a line went out less than `intervalMs` ago; then only counts it. */
  report(err: NodeJS.ErrnoException): void {
    const now = Date.now();
    if (now - this.lastLoggedAt < this.intervalMs) {
      this.suppressed++;
      return;
    }
    const cause = err.code ?? 'unknown';
    this.log.error('accept.failed', {
      cause,
      reason: CAUSES[cause] ?? err.message,
      suppressed: this.suppressed || undefined,
    });
    this.lastLoggedAt = now;
    this.suppressed = 0;
  }
}
