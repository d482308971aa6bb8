/**
 * The real Python websockify (Debian package `websockify`) as a test peer, for interop tests that run the
 * same scenario against websockify and wstcp. It listens on a free 127.0.0.1 port; close() kills its whole
 * process group (websockify forks a process per connection).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { collectOutput, launchOnFreePort, signalGroup, waitUntilAccepting } from './peer-process.js';
import { requireProgram } from './programs.js';

export interface RunningWebsockify {
  readonly port: number;
  /** ws://127.0.0.1:PORT */
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything websockify printed (stdout and stderr), for failure messages. */
  output(): string;
  close(): Promise<void>;
}

export interface WebsockifyOptions {
  /** `host:port` of the target; omit when the options route by token. */
  readonly target?: string;
  /** Options placed before the listen address, e.g. `['--token-plugin', 'TokenFile', ...]`. */
  readonly options?: readonly string[];
}

const KILL_GRACE_MS = 2000;

/**
 * Starts websockify, waits until it accepts connections and registers its teardown with `t.after`.
 * Resolves undefined when websockify is not installed (the test is then skipped, or fails under CI=true).
 *
 * @example
 * const websockify = await startWebsockify(t, { target: `127.0.0.1:${echo.port}` });
 * if (!websockify) return;
 */
export async function startWebsockify(
  t: TestContext,
  options: WebsockifyOptions,
): Promise<RunningWebsockify | undefined> {
  const program = requireProgram(t, 'websockify');
  if (!program) return undefined;
  return launchOnFreePort(t, (port) => {
    const args = [...(options.options ?? []), `127.0.0.1:${port}`];
    if (options.target) args.push(options.target);
    return launch(program, args, port);
  });
}

function launch(program: string, args: string[], port: number): RunningWebsockify & { ready: Promise<void> } {
  const child = spawn(program, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  const output = collectOutput(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      signalGroup(child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), KILL_GRACE_MS);
      await exited;
      clearTimeout(timer);
      // Per-connection children share the group and may outlive the parent.
      signalGroup(child, 'SIGKILL');
    })();
    return closing;
  };
  const ready = waitUntilAccepting(child, port, 'websockify', output);
  return { port, url: `ws://127.0.0.1:${port}`, child, output, close, ready };
}
