/**
 * --record FILE: each session's frames written to FILE.N in noVNC's playback format, byte for byte the
 * format websockify writes, so noVNC's playback page and tools read wstcp recordings unchanged:
 *
 *     var VNC_frame_data = [
 *     '{12{<bytes the target sent>',
 *     '}15}<bytes the client sent>',
 *     'EOF'];
 *
 * `{` marks target -> client, `}` client -> target, the number is milliseconds since the session opened, and
 * the bytes are latin-1 characters escaped as Python's `unicode_escape` does (plus `\'`), which is valid
 * inside a JavaScript single-quoted string.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { describeError } from '../errors.js';
import type { Logger } from './log.js';

/**
 * Most bytes queued for a disk that cannot keep up. Beyond it the recording ends early (still a valid file)
 * rather than holding the session's traffic in memory without bound.
 */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

const FLUSH_TIMEOUT_MS = 5000;

/** The escaped form of each byte value, built once: encoding a frame is then one lookup per byte. */
const ESCAPED: readonly string[] = Array.from({ length: 256 }, (_, byte) => {
  if (byte === 0x09) return '\\t';
  if (byte === 0x0a) return '\\n';
  if (byte === 0x0d) return '\\r';
  if (byte === 0x5c) return '\\\\';
  if (byte === 0x27) return "\\'";
  if (byte >= 0x20 && byte < 0x7f) return String.fromCharCode(byte);
  return `\\x${byte.toString(16).padStart(2, '0')}`;
});

/** Escapes `bytes` for the inside of a single-quoted JavaScript string, as websockify's recorder does. */
export function escapeFrame(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += ESCAPED[bytes[i]!];
  return out;
}

/**
 * One session's recording. Writes go through one buffered file stream; a file that cannot be written is
 * reported once and the recording stops, while the session itself goes on.
 */
export class Recorder {
  private readonly startedAt = Date.now();
  private readonly stream: WriteStream;
  private failed = false;
  private closed = false;
  private closing: Promise<void> | undefined;

  /**
   * Opens (truncates) `path`, readable by its owner only: a recording holds everything typed in the
   * session, passwords included.
   */
  constructor(
    readonly path: string,
    private readonly log: Logger,
    private readonly session: number,
  ) {
    this.stream = createWriteStream(path, { flags: 'w', mode: 0o600 });
    this.stream.on('error', (err) => this.fail(err));
    this.stream.write('var VNC_frame_data = [\n');
  }

  /** A message from the client, on its way to the target. */
  fromClient(data: Buffer): void {
    this.frame('}', data);
  }

  /** A chunk from the target, on its way to the client. */
  fromTarget(chunk: Buffer): void {
    this.frame('{', chunk);
  }

  /**
   * Ends the file with the EOF marker; resolves once it is flushed, failed, or has not flushed within 5 s
   * (a hung file system must not hold up the bridge's shutdown). Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      this.closed = true;
      if (this.failed) return resolve();
      this.stream.end("'EOF'];\n");
      const timer = setTimeout(() => {
        this.fail(new Error(`not flushed within ${FLUSH_TIMEOUT_MS / 1000} s`));
        resolve();
      }, FLUSH_TIMEOUT_MS);
      timer.unref();
      this.stream.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.closing;
  }

  private frame(marker: '{' | '}', bytes: Buffer): void {
    if (this.failed || this.closed) return;
    if (this.stream.writableLength > MAX_QUEUED_BYTES) {
      this.log.warn('record.truncated', { session: this.session, file: this.path, reason: 'disk too slow' });
      void this.close();
      return;
    }
    const ms = Date.now() - this.startedAt;
    this.stream.write(`'${marker}${ms}${marker}${escapeFrame(bytes)}',\n`);
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.log.error('record.failed', { session: this.session, file: this.path, error: describeError(err) });
    this.stream.destroy();
  }
}
