/**
 * A running program as a session's target stream: client messages go to its stdin, its stdout comes
 * back, its stderr goes to the log.
 *
 * - Text mode (websocketd's default): each client message is written followed by `\n`; each line of
 *   stdout, without its end of line, is one text message. A last line without a newline is delivered too
 *   (websocketd drops it).
 * - Binary mode: bytes both ways, each stdout read one binary message.
 * - Backpressure: the session pauses stdout while the client is behind, and pauses the client while more
 *   than its limit waits for stdin. A line is at most `maxLineBytes` (longer ones are cut), so memory stays
 *   bounded however the program writes.
 * - Ending: stdout EOF (or the session ending) starts websocketd's teardown (teardown.ts). When the program
 *   exits, whatever it left running in its process group is killed; the stream closes once the program
 *   is reaped and its pipes are closed.
 */
import type { Logger } from '../../observe/log.js';
import type { TargetOwner, TargetStream } from '../target.js';
import { LineSplitter, readLines } from './line-splitter.js';
import type { Program } from './program.js';
import { killGroup } from './spawn.js';
import { type StopStep, stopProgram } from './teardown.js';

/** Settings shared by every program of a bridge. */
export interface ProgramSettings {
  /** --binary: raw bytes both ways instead of lines. */
  readonly binary: boolean;
  /** --close-ms: added to each wait of the teardown. */
  readonly closeMs: number;
  /** The longest line sent as one message; longer lines are cut into pieces of this size. */
  readonly maxLineBytes: number;
  readonly log: Logger;
}

/** After the program exited, how long a process that left its group may hold its pipes open. */
const PIPES_AFTER_EXIT_MS = 1000;
const NEWLINE = Buffer.from('\n');

export class ProgramStream implements TargetStream {
  readonly wantsMessageEnds: boolean;
  private owner: TargetOwner | undefined;
  private readonly lines: LineSplitter | undefined;
  private readonly exited: Promise<void>;
  private stopping: Promise<StopStep> | undefined;
  private closed = false;
  private readingPaused = false;
  private stderrRead = false;

  /**
   * @param child a program started by startProgram
   * @param onGone called once, when the program is gone (--max-forks gives its slot back)
   */
  constructor(
    private readonly child: Program,
    private readonly settings: ProgramSettings,
    private readonly onGone?: () => void,
  ) {
    this.wantsMessageEnds = !settings.binary;
    this.lines = settings.binary ? undefined : new LineSplitter(settings.maxLineBytes);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', (code, signal) => this.programExited(code, signal));
    child.once('close', () => this.finish());
    // The program may stop reading at any time; a write after that is dropped, not a session error.
    child.stdin.on('error', (err: NodeJS.ErrnoException) => this.debug('command.stdin_error', err.code));
    // Node drains the stdout of an exited child that nobody listens to: what the program wrote before
    // the session attached (after the 101) would be lost. A 'readable' listener marks it as ours.
    child.stdout.on('readable', keepUnread);
    // stderr is read once the session is known, so that every line carries its number.
    child.stderr.on('readable', keepUnread);
  }

  /** The program's process id (its process group id too). */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  get queuedBytes(): number {
    return this.child.stdin.writableLength;
  }

  get paused(): boolean {
    return this.readingPaused;
  }

  attach(owner: TargetOwner): void {
    this.owner = owner;
    const { stdout, stdin } = this.child;
    // Without the 'readable' listener, the 'data' listener sets stdout flowing (on the next tick).
    stdout.removeListener('readable', keepUnread);
    this.logStderr();
    stdout.on('data', (chunk: Buffer) => this.output(chunk));
    stdout.once('end', () => this.outputEnded());
    stdout.on('error', (err: NodeJS.ErrnoException) => owner.targetError(err));
    stdin.on('drain', () => owner.targetDrained());
    // A program that exited at once may have been seen to the end before the session attached (the
    // 'readable' listener above reads an empty stdout that is at its end): tell the session now.
    if (stdout.readableEnded || this.closed) {
      queueMicrotask(() => {
        if (stdout.readableEnded) this.outputEnded();
        if (this.closed) owner.targetClose();
      });
    }
  }

  /** The teardown has begun (stdin is being closed), or the program has gone. */
  get ended(): boolean {
    return this.stopping !== undefined || this.child.stdin.destroyed;
  }

  write(data: Buffer, written?: (err?: Error | null) => void): void {
    if (this.ended) written?.(new Error('the program takes no more input'));
    else this.child.stdin.write(data, written);
  }

  messageEnd(): void {
    if (!this.ended) this.child.stdin.write(NEWLINE);
  }

  cork(): void {
    this.child.stdin.cork();
  }

  uncork(): void {
    this.child.stdin.uncork();
  }

  /** Only after attach: a session pauses once it has been handed data. */
  pause(): void {
    this.readingPaused = true;
    this.child.stdout.pause();
  }

  resume(): void {
    this.readingPaused = false;
    this.child.stdout.resume();
  }

  /** The client is done: close stdin and let the teardown run. */
  end(): void {
    this.stop();
  }

  /** Nothing more is wanted from the program: stop reading and run the teardown. */
  destroy(): void {
    this.child.stdout.destroy();
    this.stop();
  }

  private output(chunk: Buffer): void {
    const owner = this.owner!;
    if (this.lines) this.lines.push(chunk, (line) => owner.targetData(line, 'text'));
    else owner.targetData(chunk, 'given');
  }

  private outputEnded(): void {
    const owner = this.owner!;
    this.lines?.flush((line) => owner.targetData(line, 'text'));
    owner.targetEnd();
    this.stop();
  }

  private stop(): void {
    if (this.stopping) return;
    // Without a session (the handshake failed after the program started), stderr is still logged.
    this.logStderr();
    this.stopping = stopProgram(this.child, this.exited, this.settings.closeMs);
    void this.stopping.then((step) => {
      this.debug('command.stopped', step);
      if (step === 'unkillable') {
        this.settings.log.error('command.unkillable', { session: this.session, pid: this.pid });
        this.finish();
      }
    });
  }

  private programExited(code: number | null, signal: NodeJS.Signals | null): void {
    // Anything the program left in its group is an orphan now; its group id is still safe to use.
    killGroup(this.child, 'SIGKILL');
    this.child.stdin.destroy();
    this.settings.log.debug('command.exit', { session: this.session, pid: this.pid, code, signal });
    // A process that left the group (setsid) may still hold stdout open: do not wait for it forever.
    const timer = setTimeout(() => {
      this.child.stdout.destroy();
      this.child.stderr.destroy();
    }, PIPES_AFTER_EXIT_MS);
    timer.unref();
    this.child.once('close', () => clearTimeout(timer));
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.onGone?.();
    this.owner?.targetClose();
  }

  private logStderr(): void {
    if (this.stderrRead) return;
    this.stderrRead = true;
    this.child.stderr.removeListener('readable', keepUnread);
    readLines(this.child.stderr, (line) =>
      this.settings.log.warn('command.stderr', { session: this.session, pid: this.pid, line }),
    );
  }

  /** The session's number, once a session owns the stream (sessions have an `id`). */
  private get session(): number | undefined {
    const id = (this.owner as { id?: unknown } | undefined)?.id;
    return typeof id === 'number' ? id : undefined;
  }

  private debug(event: string, detail: string | undefined): void {
    this.settings.log.debug(event, { session: this.session, pid: this.pid, detail });
  }
}

function keepUnread(): void {}
