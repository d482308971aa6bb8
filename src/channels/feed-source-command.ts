/**
 * A feed's source when TARGET is `cmd:COMMAND ARGS`: each run is one run of the program, started with
 * the command targets' machinery (startProgram: no shell, a process group of its own) and over once it has
 * exited and its pipes are closed.
 *
 * - stdin is a pipe ended at once: the program gets no input (a read sees end of file).
 * - stdout is what the feed publishes; stderr goes to the log line by line (`channel.feed_stderr`), never
 *   to the channel.
 * - The environment is small: the --pass-env variables (default PATH,LD_LIBRARY_PATH), HOME, and
 *   WSTCP_CHANNEL (the channel id); nothing else of wstcp's own environment.
 * - stop() runs websocketd's steps (teardown.ts: stdin, SIGINT, SIGTERM, SIGKILL to the process group,
 *   each wait plus --close-ms). When the program exits by itself, whatever it left in its group is killed.
 */

import { describeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { passedEnvironment } from '../targets/command/environment.js';
import { findExecutable } from '../targets/command/find-executable.js';
import { readLines } from '../targets/command/line-splitter.js';
import type { Program } from '../targets/command/program.js';
import { killGroup, startProgram } from '../targets/command/spawn.js';
import { stopProgram } from '../targets/command/teardown.js';
import { quoteWords } from '../targets/command/words.js';
import type { FeedRun, FeedRunEvents, FeedSource } from './feed.js';

export interface CommandFeedSettings {
  readonly channel: string;
  /** The program (a path, as found by resolveFeedProgram) and its arguments. */
  readonly argv: readonly string[];
  /** --pass-env: the names of wstcp's variables the program gets (comma-separated). */
  readonly passEnv: string;
  /** --close-ms: added to each wait of the teardown. */
  readonly closeMs: number;
  readonly log: Logger;
}

/** After the program exited, how long a process that left its group may hold its pipes open. */
const PIPES_AFTER_EXIT_MS = 1000;

/**
 * The path of the program `argv[0]` names, looked up once at startup as --cmd's is. Returns undefined when
 * it cannot be found or run (the caller names the flag).
 */
export function resolveFeedProgram(program: string): Promise<string | undefined> {
  return findExecutable(program, process.env.PATH ?? '');
}

/** The environment of a feed's program (see above). */
export function feedEnvironment(channel: string, passEnv: string): Record<string, string> {
  const env: Record<string, string> = { ...passedEnvironment(passEnv) };
  const home = process.env.HOME;
  if (home) env.HOME = home;
  env.WSTCP_CHANNEL = channel;
  return env;
}

export class CommandFeedSource implements FeedSource {
  private readonly env: Record<string, string>;
  /** For log lines: the command, its program as found on PATH (quoted words). */
  readonly label: string;

  constructor(private readonly settings: CommandFeedSettings) {
    this.env = feedEnvironment(settings.channel, settings.passEnv);
    this.label = quoteWords(settings.argv);
  }

  start(events: FeedRunEvents): FeedRun {
    return new ProgramRun(this.settings, this.env, this.label, events);
  }
}

class ProgramRun implements FeedRun {
  private child: Program | undefined;
  private exited: Promise<void> | undefined;
  private hasExited = false;
  private ended = false;
  private paused = false;
  private readonly started: Promise<void>;
  /** Settles once the run has reported down(). */
  private readonly over: Promise<void>;
  private reportOver!: () => void;

  constructor(
    private readonly settings: CommandFeedSettings,
    env: Record<string, string>,
    private readonly label: string,
    private readonly events: FeedRunEvents,
  ) {
    this.over = new Promise((resolve) => {
      this.reportOver = resolve;
    });
    this.started = startProgram({ argv: settings.argv, env }).then(
      (child) => this.running(child),
      (err: Error) => this.failedToStart(err),
    );
  }

  pause(): void {
    this.paused = true;
    this.child?.stdout.pause();
  }

  resume(): void {
    this.paused = false;
    this.child?.stdout.resume();
  }

  async stop(): Promise<void> {
    await this.started;
    const child = this.child;
    if (child && this.exited && !this.hasExited) {
      const step = await stopProgram(child, this.exited, this.settings.closeMs);
      if (step === 'unkillable') {
        this.settings.log.error('channel.feed_unkillable', {
          channel: this.settings.channel,
          pid: child.pid,
        });
        // Nothing more can be done for it: its pipes are let go so that wstcp can stop.
        child.stdout.destroy();
        child.stderr.destroy();
        this.end({ code: null, signal: null });
      }
    }
    await this.over;
  }

  private failedToStart(err: Error): void {
    const cause = (err as { cause?: unknown }).cause;
    this.events.down({
      event: 'channel.feed_start_failed',
      level: 'warn',
      fields: { command: this.label, error: describeError(cause ?? err) },
    });
    this.reportOver();
  }

  private running(child: Program): void {
    this.child = child;
    const pid = child.pid;
    child.stdin.on('error', () => {});
    child.stdin.end();
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let status: { code: number | null; signal: NodeJS.Signals | null } = { code: null, signal: null };
    child.once('exit', (code, signal) => {
      this.hasExited = true;
      status = { code, signal };
      // Anything the program left in its group is an orphan now; its group id is still safe to use.
      killGroup(child, 'SIGKILL');
      this.releasePipesLater(child);
    });
    child.once('close', () => this.end(status));
    this.logStderr(child);
    child.stdout.on('data', (chunk: Buffer) => this.events.data(chunk));
    if (this.paused) child.stdout.pause();
    this.events.up('channel.feed_started', { command: this.label, pid });
  }

  /** A process that left the group (setsid) may hold stdout open: it is not waited for forever. */
  private releasePipesLater(child: Program): void {
    const timer = setInterval(() => {
      // Output still waiting for the store is the feed's to publish, not a stray holder's.
      if (this.paused) return;
      clearInterval(timer);
      child.stdout.destroy();
      child.stderr.destroy();
    }, PIPES_AFTER_EXIT_MS);
    timer.unref();
    child.once('close', () => clearInterval(timer));
  }

  private end(status: { code: number | null; signal: NodeJS.Signals | null }): void {
    if (this.child === undefined || this.ended) return;
    this.ended = true;
    this.events.down({
      event: 'channel.feed_exited',
      level: 'warn',
      fields: { command: this.label, pid: this.child.pid, code: status.code, signal: status.signal },
    });
    this.reportOver();
  }

  private logStderr(child: Program): void {
    const { log, channel } = this.settings;
    readLines(child.stderr, (line) => log.warn('channel.feed_stderr', { channel, pid: child.pid, line }));
  }
}
