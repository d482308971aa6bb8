/**
 * `wstcp connect URL`: stdin and stdout relayed through one WebSocket session, for ssh's ProxyCommand and
 * any program that speaks through a pipe. Returns the exit code (see errors.ts); the problem, if any, is
 * one line on stderr.
 */
import type { Readable, Writable } from 'node:stream';
import { describeError } from '../errors.js';
import { dial } from './dial.js';
import { ClientError, ExitCode } from './errors.js';
import { stdioSide } from './local-side.js';
import type { ClientConfig } from './options.js';
import type { ProxyAddress } from './proxy-choice.js';
import type { ServerUrl } from './server-url.js';
import { ClientSession } from './session.js';

export interface ConnectIO {
  readonly input: Readable;
  readonly output: Writable;
  /** One line for stderr (no newline). */
  report(line: string): void;
  /** Ends the session early (a signal): pending data is sent, then close 1001. */
  readonly stop?: AbortSignal;
}

export interface ConnectRequest {
  readonly server: ServerUrl;
  readonly config: ClientConfig;
  readonly proxy: ProxyAddress | undefined;
}

/** Runs one session between `io` and the server; resolves with the exit code. */
export async function runConnect(request: ConnectRequest, io: ConnectIO): Promise<number> {
  const { server, config, proxy } = request;
  if (config.verbose) {
    io.report(`wstcp: connecting to ${server.display}${proxy ? ` through the proxy ${proxy.display}` : ''}`);
  }
  let session: ClientSession;
  try {
    const stopped = new Promise<undefined>((resolve) =>
      io.stop?.addEventListener('abort', () => resolve(undefined), { once: true }),
    );
    const ws = await Promise.race([dial(request), stopped]);
    if (ws === undefined || io.stop?.aborted) {
      ws?.terminate();
      io.report('wstcp: stopped before the session opened');
      return ExitCode.SESSION_FAILED;
    }
    session = new ClientSession(ws, stdioSide(io.input, io.output), { heartbeatMs: config.heartbeatMs });
    io.stop?.addEventListener('abort', () => session.shutdown(), { once: true });
    if (config.verbose) io.report(`wstcp: connected${ws.protocol ? ` (subprotocol ${ws.protocol})` : ''}`);
  } catch (err) {
    io.report(`wstcp: ${err instanceof ClientError ? err.message : describeError(err)}`);
    return err instanceof ClientError ? err.exitCode : ExitCode.SESSION_FAILED;
  }
  const end = await session.ended;
  if (end.problem) io.report(`wstcp: ${end.problem}`);
  else if (config.verbose) {
    const reason = end.reason ? ` ${end.reason}` : '';
    io.report(
      `wstcp: session closed by the ${end.closer} side with ${end.code}${reason}; ` +
        `${end.bytesUp} bytes sent, ${end.bytesDown} received`,
    );
  }
  return end.exitCode;
}
