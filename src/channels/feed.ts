/**
 * A feed (--channel-feed ID=TARGET): one source whose output is published to channel ID, line by line
 * (a line is published without its `\n` or `\r\n`) or chunk by chunk as read (--channel-feed-mode). One
 * log tail or market feed, any number of subscribers. The source is one connection to a TCP or
 * unix-socket target (feed-source-socket.ts) or one run of a program (feed-source-command.ts); this file
 * holds what both share.
 *
 * The feed starts its source again with backoff (100 ms doubling to 5 s, reset once a run has lasted)
 * whenever a run ends: the target ends, refuses or fails, or the program exits or cannot start. Publishes
 * run in order; the source is paused while too many wait, so a slow store slows the feed rather than
 * growing memory. A line longer than the limit is published in pieces of at most that size.
 */
import { AddressError } from '../address.js';
import { ConfigError, describeError } from '../errors.js';
import type { LogFields, Logger } from '../observe/log.js';
import { splitWords, WordsError } from '../targets/command/words.js';
import { formatTarget, parseSocketTarget, type SocketTarget } from '../targets/registry.js';
import type { ChannelStore } from './store.js';

export type FeedMode = 'lines' | 'chunks';

/** A feed keeps one connection: to one TCP or unix-socket target (a pool would pick a member per session). */
export type SocketFeedTarget = Exclude<SocketTarget, { readonly kind: 'pool' }>;

/** `cmd:COMMAND ARGS`: one program, its words split as --cmd's (no shell). */
export interface CommandFeedTarget {
  readonly kind: 'command';
  readonly argv: readonly string[];
}

export type FeedTarget = SocketFeedTarget | CommandFeedTarget;

export interface FeedSpec {
  readonly channel: string;
  readonly target: FeedTarget;
}

/** What a source reports about one run (one connection, or one run of the program). */
export interface FeedRunEvents {
  /** The run is up (connected, or the program started): logged at info as `event`. */
  up(event: string, fields: LogFields): void;
  data(chunk: Buffer): void;
  /** The run is over and holds nothing any more: logged as `ending.event`, then the next run is due. */
  down(ending: FeedEnding): void;
}

export interface FeedEnding {
  readonly event: string;
  readonly level: 'debug' | 'info' | 'warn';
  readonly fields: LogFields;
}

/** One run of a source; it reports through the FeedRunEvents it was started with. */
export interface FeedRun {
  pause(): void;
  resume(): void;
  /** Ends the run; resolves once it has reported down() (its socket or program is gone). */
  stop(): Promise<void>;
}

export interface FeedSource {
  start(events: FeedRunEvents): FeedRun;
}

export interface FeedOptions {
  readonly channel: string;
  readonly source: FeedSource;
  readonly mode: FeedMode;
  readonly store: ChannelStore;
  readonly log: Logger;
  /** The longest line (and message) published. */
  readonly maxMessageBytes: number;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;
/** A run that lasted this long resets the backoff. */
const STABLE_MS = 5000;
/** Publishes waiting before the source is paused. */
const MAX_PENDING = 64;
/** Says that the rest of a --channel-feed value is a command; nothing else reads this prefix. */
const COMMAND_PREFIX = 'cmd:';

/** Parses `ID=host:port`, `ID=unix_socket:/path` or `ID=cmd:COMMAND ARGS`. */
export function parseFeedSpec(text: string): FeedSpec {
  const eq = text.indexOf('=');
  if (eq <= 0)
    throw new ConfigError(`--channel-feed: expected ID=TARGET (e.g. ticks=127.0.0.1:9000), got "${text}"`);
  const channel = text.slice(0, eq);
  if (channel.includes(',')) throw new ConfigError('--channel-feed: a channel id must not contain ","');
  const rest = text.slice(eq + 1);
  if (rest.trimStart().startsWith(COMMAND_PREFIX))
    return { channel, target: parseCommand(channel, rest.trimStart().slice(COMMAND_PREFIX.length)) };
  try {
    const target = parseSocketTarget(rest);
    if (target.kind === 'pool')
      throw new ConfigError(
        `--channel-feed ${channel}: a feed connects to one target, not a pool (${formatTarget(target)})`,
      );
    return { channel, target };
  } catch (err) {
    if (err instanceof AddressError) throw new ConfigError(`--channel-feed ${channel}: ${err.message}`);
    throw err;
  }
}

function parseCommand(channel: string, text: string): CommandFeedTarget {
  let argv: string[];
  try {
    argv = splitWords(text);
  } catch (err) {
    if (err instanceof WordsError) throw new ConfigError(`--channel-feed ${channel}: ${err.message}`);
    throw err;
  }
  if (argv.length === 0) throw new ConfigError(`--channel-feed ${channel}: cmd: needs a program to run`);
  return { kind: 'command', argv };
}

export class ChannelFeed {
  private run: FeedRun | undefined;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private upAt = 0;
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private pending = 0;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  published = 0;
  failed = 0;

  constructor(private readonly options: FeedOptions) {}

  start(): void {
    if (this.closed) return;
    this.run = this.options.source.start({
      up: (event, fields) => this.runUp(event, fields),
      data: (chunk) => this.runData(chunk),
      down: (ending) => this.runDown(ending),
    });
  }

  /** Stops the feed and its source (the program too); what is waiting to be published still is. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.run?.stop();
    await this.chain;
  }

  private runUp(event: string, fields: LogFields): void {
    this.upAt = Date.now();
    this.options.log.info(event, { channel: this.options.channel, ...fields });
  }

  private runData(chunk: Buffer): void {
    if (this.options.mode === 'chunks') {
      this.publish(Buffer.from(chunk));
      return;
    }
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline < 0) break;
      this.addPartial(chunk.subarray(start, newline));
      this.publishLine();
      start = newline + 1;
    }
    if (start < chunk.length) this.addPartial(chunk.subarray(start));
  }

  private addPartial(piece: Buffer): void {
    const max = this.options.maxMessageBytes;
    let rest = piece;
    while (this.partialBytes + rest.length > max) {
      const room = max - this.partialBytes;
      this.partial.push(Buffer.from(rest.subarray(0, room)));
      this.partialBytes = max;
      this.publishLine();
      rest = rest.subarray(room);
    }
    if (rest.length > 0) {
      this.partial.push(Buffer.from(rest));
      this.partialBytes += rest.length;
    }
  }

  private publishLine(): void {
    let line = Buffer.concat(this.partial, this.partialBytes);
    this.partial = [];
    this.partialBytes = 0;
    if (line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
    this.publish(line);
  }

  private publish(data: Buffer): void {
    const { store, channel, log } = this.options;
    this.pending++;
    if (this.pending >= MAX_PENDING) this.run?.pause();
    this.chain = this.chain.then(async () => {
      try {
        await store.publish(channel, { data, contentType: undefined, event: undefined });
        this.published++;
      } catch (err) {
        if (this.failed++ === 0)
          log.warn('channel.feed_publish_failed', { channel, error: describeError(err) });
      }
      this.pending--;
      if (this.pending < MAX_PENDING / 2) this.run?.resume();
    });
  }

  private runDown(ending: FeedEnding): void {
    if (this.partialBytes > 0) this.publishLine();
    this.run = undefined;
    const { log, channel } = this.options;
    if (this.closed) {
      log.debug(ending.event, { channel, ...ending.fields, closing: true });
      return;
    }
    if (this.upAt > 0 && Date.now() - this.upAt >= STABLE_MS) this.retryMs = FIRST_RETRY_MS;
    this.upAt = 0;
    log[ending.level](ending.event, { channel, ...ending.fields, retry_ms: this.retryMs });
    this.retryTimer = setTimeout(() => this.start(), this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }
}
