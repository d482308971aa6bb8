/**
 * Structured logging: one event name plus fields, written as text (`key=value`) or JSON lines.
 * Nothing here is on the per-frame path: sessions log when they open and close, and debug lines are
 * dropped before any formatting when the level is above debug.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';
export type LogFields = Record<string, string | number | boolean | null | undefined>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Append to this file instead of writing to stderr. */
  file?: string;
  /** For tests: receives each formatted line (without newline) instead of a stream. */
  sink?: (line: string) => void;
  /** A second destination (--syslog) that also gets every line, with its level. */
  forward?: LogForwarder;
}

/** Receives each line's level and message (text lines without the time and level, which it adds itself). */
export interface LogForwarder {
  send(level: LogLevel, message: string): void;
  /** Delivers what is still queued and releases the destination. */
  close(): Promise<void>;
}

export class Logger {
  readonly level: LogLevel;
  readonly format: LogFormat;
  private readonly minRank: number;
  private readonly write: (line: string) => void;
  private readonly stream: WriteStream | undefined;
  private readonly forward: LogForwarder | undefined;

  constructor(options: LoggerOptions = {}) {
    this.level = options.level ?? 'info';
    this.format = options.format ?? 'text';
    this.minRank = RANK[this.level];
    this.forward = options.forward;
    if (options.sink) {
      this.write = options.sink;
    } else if (options.file) {
      const stream = createWriteStream(options.file, { flags: 'a' });
      // A log file that cannot be written must not take the bridge down; report once on stderr.
      stream.on('error', (err) => process.stderr.write(`wstcp: cannot write log file: ${err.message}\n`));
      this.stream = stream;
      this.write = (line) => stream.write(`${line}\n`);
    } else {
      this.write = (line) => process.stderr.write(`${line}\n`);
    }
  }

  get debugEnabled(): boolean {
    return this.minRank <= RANK.debug;
  }

  debug(event: string, fields?: LogFields): void {
    if (this.minRank <= RANK.debug) this.emit('debug', event, fields);
  }
  info(event: string, fields?: LogFields): void {
    if (this.minRank <= RANK.info) this.emit('info', event, fields);
  }
  warn(event: string, fields?: LogFields): void {
    if (this.minRank <= RANK.warn) this.emit('warn', event, fields);
  }
  error(event: string, fields?: LogFields): void {
    this.emit('error', event, fields);
  }

  /** Flushes and closes a log file and the --syslog destination; a no-op for stderr and sinks. */
  async close(): Promise<void> {
    const stream = this.stream;
    await Promise.all([
      this.forward?.close(),
      stream && new Promise<void>((resolve) => stream.end(() => resolve())),
    ]);
  }

  private emit(level: LogLevel, event: string, fields: LogFields | undefined): void {
    const time = new Date().toISOString();
    if (this.format === 'json') {
      const line = JSON.stringify({ time, level, event, ...fields });
      this.write(line);
      this.forward?.send(level, line);
      return;
    }
    let message = event;
    if (fields) {
      for (const key in fields) {
        const value = fields[key];
        if (value === undefined) continue;
        message += ` ${key}=${formatValue(value)}`;
      }
    }
    this.write(`${time} ${level.toUpperCase().padEnd(5)} ${message}`);
    this.forward?.send(level, message);
  }
}

function formatValue(value: string | number | boolean | null): string {
  if (typeof value !== 'string') return String(value);
  return value === '' || /[\s"=]/.test(value) ? JSON.stringify(value) : value;
}

/** A logger that discards everything, for library use and tests that do not inspect logs. */
export const silentLogger = new Logger({ level: 'error', sink: () => {} });
