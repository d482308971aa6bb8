/**
 * -D/--daemon, for websockify command lines: the same command runs again as a detached child (its own
 * session, stdin/stdout/stderr on /dev/null; logs go to --log-file or --syslog), and the foreground process
 * exits once the child listens: 0 and nothing printed, or 1 with the child's one-line startup error.
 *
 * The child reports on a pipe at descriptor 3 with one synchronous write, so even a child that fails and
 * exits at once gets its reason through. A systemd service (Type=simple, no --daemon) is still the better
 * way to run wstcp in the background: it restarts it, collects its logs and stops it cleanly.
 */
import { spawn } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';

const STATUS_ENV = 'WSTCP_DAEMON_STATUS_FD';
const STATUS_FD = 3;
/** Longer than any startup wait of its own (token stores, TLS files), short enough to notice a hang. */
const START_TIMEOUT_MS = 60000;

/** True in the detached child started by --daemon (which then runs in the foreground of its own session). */
export function isDaemonChild(): boolean {
  return process.env[STATUS_ENV] === String(STATUS_FD);
}

/** Tells the waiting parent that the child listens (`error` undefined) or why it failed; only once. */
export function reportToParent(error?: string): void {
  if (!isDaemonChild()) return;
  delete process.env[STATUS_ENV];
  try {
    writeSync(STATUS_FD, error === undefined ? `listening ${process.pid}\n` : `failed ${error}\n`);
    closeSync(STATUS_FD);
  } catch {
    // The parent is gone (killed while waiting): there is nobody left to tell.
  }
}

export interface DetachResult {
  /** The exit code for the foreground process. */
  readonly code: 0 | 1;
  /** The daemon's process id, once it listens. */
  readonly pid?: number;
  /** The child's startup error, one line. */
  readonly error?: string;
}

/**
 * Starts `node script ...args` detached with the status pipe, and resolves when it listens or has failed.
 * A child that neither listens nor fails within 60 s is killed.
 */
export function detach(script: string, args: readonly string[]): Promise<DetachResult> {
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, [STATUS_ENV]: String(STATUS_FD) },
  });
  const status = child.stdio[STATUS_FD] as NodeJS.ReadableStream;
  return new Promise((resolve) => {
    let text = '';
    let settled = false;
    const finish = (result: DetachResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (result.code !== 0 && child.exitCode === null) child.kill('SIGKILL');
      child.unref();
      (status as unknown as { destroy(): void }).destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () =>
        finish({ code: 1, error: `the daemon did not start listening within ${START_TIMEOUT_MS / 1000} s` }),
      START_TIMEOUT_MS,
    );
    status.setEncoding('utf8');
    status.on('data', (chunk: string) => {
      text += chunk;
    });
    status.on('end', () => {
      const line = text.split('\n')[0] ?? '';
      if (line.startsWith('listening ')) finish({ code: 0, pid: Number(line.slice('listening '.length)) });
      else if (line.startsWith('failed ')) finish({ code: 1, error: line.slice('failed '.length) });
    });
    child.once('error', (err) => finish({ code: 1, error: `cannot start the daemon: ${err.message}` }));
    // 'close' comes after the status pipe's 'end', so a reported reason always wins over this one.
    child.once('close', (code, signal) =>
      finish({ code: 1, error: `the daemon exited (${code ?? signal}) before it was listening` }),
    );
  });
}
