/**
 * The real websocketd (Debian package `websocketd`, 0.4.1) as the interop peer of command-target tests:
 * the same scripts behind websocketd and wstcp, compared on what a client and the script see. It listens
 * on a free 127.0.0.1 port; close() kills its process group (its programs included).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { collectOutput, launchOnFreePort, signalGroup, waitUntilAccepting } from './peer-process.js';
import { requireProgram } from './programs.js';

export interface RunningWebsocketd {
  readonly port: number;
  /** ws://127.0.0.1:PORT */
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything websocketd printed, for failure messages. */
  output(): string;
  close(): Promise<void>;
}

/**
 * Starts `websocketd --address=127.0.0.1 --port=FREE ...args` in `cwd`, with `env` as its environment,
 * waits until it accepts connections and registers its teardown with `t.after`. Resolves undefined when
 * websocketd is not installed (the test is skipped, or fails under CI=true).
 */
export async function startWebsocketd(
  t: TestContext,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunningWebsocketd | undefined> {
  const program = requireProgram(t, 'websocketd');
  if (!program) return undefined;
  return launchOnFreePort(t, (port) =>
    launch(program, ['--address=127.0.0.1', `--port=${port}`, ...args], port, options),
  );
}

function launch(
  program: string,
  args: string[],
  port: number,
  options: { cwd?: string; env?: NodeJS.ProcessEnv },
): RunningWebsocketd & { ready: Promise<void> } {
  const child = spawn(program, args, {
    detached: true,
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      signalGroup(child, 'SIGKILL');
      await exited;
    })();
    return closing;
  };
  const ready = waitUntilAccepting(child, port, 'websocketd', output);
  return { port, url: `ws://127.0.0.1:${port}`, child, output, close, ready };
}
