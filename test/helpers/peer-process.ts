/**
 * Shared by the helpers that start a real server program on a loopback port (sshd, tinyproxy, websocketd,
 * websockify).
 */
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import type { TestContext } from 'node:test';
import { freePort } from './ports.js';

const START_TIMEOUT_MS = 10000;

/**
 * Resolves once 127.0.0.1:`port` accepts connections; rejects if `child` exits first (or never started: no
 * pid) or after 10 s.
 */
export async function waitUntilAccepting(
  child: ChildProcess,
  port: number,
  name: string,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || child.pid === undefined)
      throw new Error(`${name} exited (${child.exitCode}): ${output()}`);
    if (Date.now() > deadline)
      throw new Error(`${name} did not listen within ${START_TIMEOUT_MS} ms: ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Launches a peer on a free port, up to 3 times (a port freed just now can be taken before the peer binds
 * it), and registers its close with `t.after` once it accepts connections.
 */
export async function launchOnFreePort<T extends { ready: Promise<void>; close(): Promise<void> }>(
  t: TestContext,
  launch: (port: number) => T,
): Promise<T> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const running = launch(await freePort());
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

/** SIGTERM, then waits for the exit. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  return exited;
}

/** Collects a child's stdout and stderr (and a failure to spawn it) as text, for failure messages. */
export function collectOutput(child: ChildProcess): () => string {
  let output = '';
  const add = (text: string) => {
    output += text;
  };
  child.stdout?.setEncoding('utf8').on('data', add);
  child.stderr?.setEncoding('utf8').on('data', add);
  child.on('error', (err) => add(`spawn failed: ${err.message}\n`));
  return () => output;
}

/** Signals `child`'s process group (a child spawned `detached`), if it is still there. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
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
