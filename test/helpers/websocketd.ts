/**
 * The real websocketd (Debian package `websocketd`, 0.4.1) as the interop peer of command-target tests:
 * the same scripts behind websocketd and wstcp, compared on what a client and the script see. It listens
 * on a free 127.0.0.1 port; close() kills its process group (its programs included).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { TestContext } from 'node:test';
import { freePort } from './ports.js';
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

const START_TIMEOUT_MS = 10000;

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
  let lastError: unknown;
  // A port freed just now can be taken before websocketd binds it: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const running = launch(program, ['--address=127.0.0.1', `--port=${port}`, ...args], port, options);
    try {
      await running.ready;
      t.after(() => running.close());
      return running;
    } catch (err) {
      lastError = err;
      await running.close();
    }
  }
  throw lastError;
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
  let output = '';
  const collect = (text: string) => {
    output += text;
  };
  child.stdout?.setEncoding('utf8').on('data', collect);
  child.stderr?.setEncoding('utf8').on('data', collect);
  child.on('error', (err) => collect(`spawn failed: ${err.message}\n`));
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
  const ready = (async () => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await accepts(port))) {
      if (child.exitCode !== null || child.pid === undefined)
        throw new Error(`websocketd exited (${child.exitCode}): ${output}`);
      if (Date.now() > deadline)
        throw new Error(`websocketd did not listen within ${START_TIMEOUT_MS} ms: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return { port, url: `ws://127.0.0.1:${port}`, child, output: () => output, close, ready };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
