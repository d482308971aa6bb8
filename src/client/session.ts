/**
 * One client session: a local end (socket or stdio) and a WebSocket to the server, relayed both ways.
 *
 * - local -> server: each chunk read becomes one binary message. When more than HIGH_WATER_BYTES wait to
 *   be written towards the server, the local end is paused until that message has reached the kernel.
 * - server -> local: frame payload is written as it is read (text frames too, as their bytes), the payload
 *   of one read in one write. When more than HIGH_WATER_BYTES wait to be written to the local end, the
 *   WebSocket is paused until they are.
 * - Closing: local EOF -> every byte read before it is sent, then close 1000 (the server's remaining data is
 *   still delivered until its close frame). A close from the server -> every byte received is written,
 *   then the local output ends. --heartbeat ends a session whose server went silent.
 *
 * `ended` resolves exactly once, after the WebSocket is closed and the local output is flushed.
 */

import { describeError } from '../errors.js';
import type { ConnectionOwner, ServerConnection } from './connection.js';
import { ExitCode, type ExitCodeValue, printable } from './errors.js';
import { Heartbeat } from './heartbeat.js';
import type { LocalSide } from './local-side.js';

/** Who ended the session: the local end (EOF or error), the server, a silent server, or wstcp stopping. */
export type SessionCloser = 'local' | 'server' | 'heartbeat' | 'shutdown';

export interface SessionEnd {
  readonly closer: SessionCloser;
  /** The close code from the server (1005: none given, 1006: no close frame, connection lost). */
  readonly code: number;
  readonly reason: string;
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** Bytes that arrived after the other side had closed, so could not be passed on. */
  readonly bytesDropped: number;
  readonly exitCode: ExitCodeValue;
  /** A sentence for stderr when the session did not end cleanly. */
  readonly problem: string | undefined;
}

export interface SessionOptions {
  readonly heartbeatMs?: number | undefined;
}

/** Bytes queued towards either side before the other is paused (several full reads of a socket fit). */
const HIGH_WATER_BYTES = 1024 * 1024;
const NORMAL = 1000;
const NO_STATUS = 1005;
const ABNORMAL = 1006;

export class ClientSession implements ConnectionOwner {
  readonly ended: Promise<SessionEnd>;
  bytesUp = 0;
  bytesDown = 0;
  bytesDropped = 0;

  private closer: SessionCloser | undefined;
  private localError: Error | undefined;
  private outputOpen = true;
  private wsPaused = false;
  private readonly heartbeat: Heartbeat | undefined;
  private finish!: (end: SessionEnd) => void;

  constructor(
    private readonly ws: ServerConnection,
    private readonly local: LocalSide,
    private readonly options: SessionOptions = {},
  ) {
    this.ended = new Promise((resolve) => {
      this.finish = resolve;
    });
    const { input, output } = local;
    input.on('data', this.onLocalData);
    input.once('end', this.onLocalEnd);
    input.on('error', this.onLocalError);
    output.on('error', this.onLocalError);
    if (options.heartbeatMs) {
      this.heartbeat = new Heartbeat(ws, options.heartbeatMs, this.onSilent, () => this.wsPaused);
    }
    ws.attach(this);
    input.resume();
  }

  /** Ends the session from this side (wstcp forward stopping): close 1001, pending data still delivered. */
  shutdown(): void {
    this.closer ??= 'shutdown';
    this.local.input.pause();
    this.ws.close(1001, 'client shutting down');
  }

  private readonly onLocalData = (chunk: Buffer): void => {
    const ws = this.ws;
    if (!ws.open) {
      this.bytesDropped += chunk.length;
      return;
    }
    this.bytesUp += chunk.length;
    if (ws.bufferedAmount + chunk.length > HIGH_WATER_BYTES) {
      this.local.input.pause();
      ws.send(chunk, this.onSentWhilePaused);
    } else {
      ws.send(chunk);
    }
  };

  /** Runs when the message that paused the local end has reached the kernel (or failed). */
  private readonly onSentWhilePaused = (err?: Error | null): void => {
    // The socket's write callback passes null on success.
    if (!err && this.ws.open && this.closer !== 'shutdown') {
      this.local.input.resume();
    }
  };

  private readonly onLocalEnd = (): void => {
    this.closer ??= 'local';
    // Queued after every message sent so far, so the server receives them all before the close.
    this.ws.close(NORMAL);
  };

  private readonly onLocalError = (err: Error): void => {
    this.localError ??= err;
    this.closer ??= 'local';
    this.outputOpen = false;
    // Nothing will drain the output any more: read on, so the server's close frame is not stuck behind data.
    if (this.wsPaused) this.onOutputDrain();
    this.local.output.off('drain', this.onOutputDrain);
    this.ws.close(1001, 'local connection failed');
  };

  serverReadStart(): void {
    if (this.outputOpen) this.local.output.cork();
  }

  serverReadEnd(): void {
    // A read often ends one frame and starts the next: their payload goes out in one writev.
    if (this.local.output.writableCorked > 0) this.local.output.uncork();
  }

  serverData(data: Buffer): void {
    this.heartbeat?.alive();
    if (!this.outputOpen) {
      this.bytesDropped += data.length;
      return;
    }
    this.bytesDown += data.length;
    const output = this.local.output;
    output.write(data);
    // Not write()'s answer: a write larger than the stream's 16 KiB mark returns false even when it went
    // straight to the kernel, and pausing the socket for each such read costs two system calls. Over this
    // mark some write has returned false, so 'drain' will come.
    if (output.writableLength > HIGH_WATER_BYTES && !this.wsPaused) {
      this.wsPaused = true;
      this.ws.pause();
      output.once('drain', this.onOutputDrain);
    }
  }

  serverQueued(): number {
    return this.local.output.writableLength;
  }

  serverPong(): void {
    this.heartbeat?.alive();
  }

  private readonly onOutputDrain = (): void => {
    this.wsPaused = false;
    this.heartbeat?.readingResumed();
    this.ws.resume();
  };

  private readonly onSilent = (): void => {
    this.closer ??= 'heartbeat';
    this.ws.terminate();
  };

  serverClosed(code: number, reason: string, error: Error | undefined): void {
    this.closer ??= 'server';
    this.heartbeat?.stop();
    this.local.output.off('drain', this.onOutputDrain);
    const ending = this.outputOpen ? this.local.endOutput() : Promise.resolve();
    this.outputOpen = false;
    void ending.then(() => {
      this.local.release();
      this.finish(this.summary(code, printable(reason), error));
    });
  }

  private summary(code: number, reason: string, error: Error | undefined): SessionEnd {
    const closer = this.closer ?? 'server';
    const base = {
      closer,
      code,
      reason,
      bytesUp: this.bytesUp,
      bytesDown: this.bytesDown,
      bytesDropped: this.bytesDropped,
    };
    const { exitCode, problem } = this.verdict(closer, code, reason, error);
    return Object.freeze({ ...base, exitCode, problem });
  }

  private verdict(
    closer: SessionCloser,
    code: number,
    reason: string,
    error: Error | undefined,
  ): { exitCode: ExitCodeValue; problem: string | undefined } {
    if (closer === 'heartbeat') {
      const seconds = (this.options.heartbeatMs ?? 0) / 1000;
      return {
        exitCode: ExitCode.HEARTBEAT,
        problem: `the server stopped answering (nothing heard for ${2 * seconds} s; --heartbeat ${seconds})`,
      };
    }
    if (this.localError) {
      return {
        exitCode: ExitCode.SESSION_FAILED,
        problem: `the local side failed: ${describeError(this.localError)}`,
      };
    }
    if (code === NORMAL || code === NO_STATUS || (closer === 'shutdown' && code === 1001)) {
      return { exitCode: ExitCode.OK, problem: undefined };
    }
    if (code === ABNORMAL) {
      const why = error ? ` (${describeError(error)})` : '';
      return {
        exitCode: ExitCode.SESSION_FAILED,
        problem: `the connection to the server was lost without a close frame${why}`,
      };
    }
    return {
      exitCode: ExitCode.SESSION_FAILED,
      problem: `the server closed the session with ${code}${reason ? ` ${reason}` : ''}`,
    };
  }
}
