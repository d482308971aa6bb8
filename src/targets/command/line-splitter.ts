/**
 * A program's output as lines, for text mode (stdout to the client) and for the log (stderr). Each line
 * loses its end of line (`\n` or `\r\n`, as websocketd's trimEOL). Lines that lie within one read are
 * handed on as views of that read, without a copy; only a line split across reads is joined.
 *
 * Memory is bounded: a line that grows past `maxLineBytes` without a newline is handed on in pieces of
 * that size (cut at a UTF-8 character boundary, so every piece is valid text if the line was).
 */

import type { Readable } from 'node:stream';

const NEWLINE = 0x0a;
const RETURN = 0x0d;

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Hands each complete line of `chunk` (with what came before it) to `emit`. `chunk` may be kept. */
  push(chunk: Buffer, emit: (line: Buffer) => void): void {
    let start = 0;
    let newline = chunk.indexOf(NEWLINE);
    while (newline >= 0) {
      const piece = chunk.subarray(start, newline);
      if (this.pendingBytes > 0) {
        this.pending.push(piece);
        emit(trimReturn(this.takePending()));
      } else {
        emit(trimReturn(piece));
      }
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) this.keep(chunk.subarray(start), emit);
  }

  /** At end of output: a last line without a newline is still a line. */
  flush(emit: (line: Buffer) => void): void {
    if (this.pendingBytes > 0) emit(this.takePending());
  }

  private keep(rest: Buffer, emit: (line: Buffer) => void): void {
    this.pending.push(rest);
    this.pendingBytes += rest.length;
    while (this.pendingBytes > this.maxLineBytes) {
      const joined = this.takePending();
      const cut = characterBoundary(joined, this.maxLineBytes);
      emit(joined.subarray(0, cut));
      const left = joined.subarray(cut);
      if (left.length > 0) {
        this.pending.push(left);
        this.pendingBytes = left.length;
      }
    }
  }

  private takePending(): Buffer {
    const joined = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return joined;
  }
}

function trimReturn(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === RETURN ? line.subarray(0, line.length - 1) : line;
}

/** The largest cut at or below `limit` that does not split a UTF-8 sequence (limit itself if none fits). */
function characterBoundary(bytes: Buffer, limit: number): number {
  for (let cut = limit; cut > limit - 4 && cut > 0; cut--) {
    // A byte of the form 10xxxxxx continues a character: cutting before it would split one.
    if ((bytes[cut]! & 0xc0) !== 0x80) return cut;
  }
  return limit;
}

/** Longest line handed on as one (longer ones come in pieces): a log line's worth. */
const MAX_READ_LINE_BYTES = 16 * 1024;

/**
 * Reads `stream` to its end, handing each line, as text, to `onLine`: a program's stderr to the log, a
 * fork server's answers. A stream error ends it quietly: what is read only ever feeds the log or answers
 * whose absence the reader notices otherwise (the process's exit).
 */
export function readLines(stream: Readable, onLine: (line: string) => void): void {
  const lines = new LineSplitter(MAX_READ_LINE_BYTES);
  const emit = (line: Buffer) => onLine(line.toString('utf8'));
  stream.on('data', (chunk: Buffer) => lines.push(chunk, emit));
  stream.once('end', () => lines.flush(emit));
  stream.on('error', () => {});
}
