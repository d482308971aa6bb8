/**
 * Programs for command-target tests: scripts written to a temporary directory as users write them, and an
 * owner that records what a ProgramStream reports (the part a session plays).
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { TargetBytes, TargetOwner } from '../../src/targets/target.js';

/** Writes an executable script `name` with `body` into `dir`; returns its path. */
export function writeScript(dir: string, name: string, body: string, mode = 0o755): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  chmodSync(path, mode);
  return path;
}

export interface Received {
  readonly data: Buffer;
  readonly bytes: TargetBytes;
}

/** Records everything a stream reports; `onData` may pause the stream to play a slow client. */
export class RecordingOwner implements TargetOwner {
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

  targetData(data: Buffer, bytes: TargetBytes): boolean {
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

export interface Message {
  readonly data: Buffer;
  readonly binary: boolean;
}

export interface Conversation {
  readonly messages: Message[];
  /** The close code the client saw (1006: the connection dropped without a close frame). */
  readonly code: number;
  /** The messages as text. */
  readonly texts: string[];
}

export interface TalkOptions {
  /** Sent one after the other once the connection is open (strings as text, Buffers as binary). */
  readonly send?: readonly (string | Buffer)[];
  /** The client closes (1000) once this holds for the messages so far; otherwise it waits for the server. */
  readonly until?: (messages: readonly Message[]) => boolean;
  readonly headers?: Record<string, string>;
  readonly timeoutMs?: number;
}

/**
 * One WebSocket conversation: open `url`, send, collect messages until `until` holds (then close) or the
 * server closes. Rejects with `HTTP <status>` when the handshake is refused.
 */
export function talk(url: string, options: TalkOptions = {}): Promise<Conversation> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, headers: options.headers });
    const messages: Message[] = [];
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no close within ${options.timeoutMs ?? 10000} ms; got ${messages.length} messages`));
    }, options.timeoutMs ?? 10000);
    const check = () => {
      if (options.until?.(messages) && ws.readyState === WebSocket.OPEN) ws.close(1000);
    };
    ws.on('open', () => {
      for (const item of options.send ?? []) ws.send(item, { binary: typeof item !== 'string' });
      check();
    });
    ws.on('message', (data: Buffer, binary: boolean) => {
      messages.push({ data, binary });
      check();
    });
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      res.resume();
      reject(new Error(`HTTP ${res.statusCode}`));
    });
    ws.on('error', () => {});
    ws.on('close', (code: number) => {
      clearTimeout(timer);
      resolve({ messages, code, texts: messages.map((m) => m.data.toString('utf8')) });
    });
  });
}
