/**
 * Programs for command-target tests: scripts written to a temporary directory as users write them, and an
 * owner that records what a ProgramStream reports (the part a session plays).
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProgramBytes, ProgramOwner } from '../../src/targets/command/program-stream.js';

/** Writes an executable script `name` with `body` into `dir`; returns its path. */
export function writeScript(dir: string, name: string, body: string, mode = 0o755): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  chmodSync(path, mode);
  return path;
}

export interface Received {
  readonly data: Buffer;
  readonly bytes: ProgramBytes;
}

/** Records everything a stream reports; `onData` may pause the stream to play a slow client. */
export class RecordingOwner implements ProgramOwner {
  readonly received: Received[] = [];
  drains = 0;
  ended = false;
  readonly errors: NodeJS.ErrnoException[] = [];
  readonly closed: Promise<void>;
  readonly endedAt: Promise<void>;
  private resolveClosed!: () => void;
  private resolveEnded!: () => void;
  isClosed = false;
  onData: ((data: Buffer) => void) | undefined;

  constructor() {
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.endedAt = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
  }

  /** The messages received so far, as strings. */
  get texts(): string[] {
    return this.received.map((r) => r.data.toString('utf8'));
  }

  targetData(data: Buffer, bytes: ProgramBytes): boolean {
    this.received.push({ data: Buffer.from(data), bytes });
    this.onData?.(data);
    return false;
  }
  targetDrained(): void {
    this.drains++;
  }
  targetEnd(): void {
    this.ended = true;
    this.resolveEnded();
  }
  targetError(err: NodeJS.ErrnoException): void {
    this.errors.push(err);
  }
  targetClose(): void {
    this.isClosed = true;
    this.resolveClosed();
  }
}
