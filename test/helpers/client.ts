/**
 * Runs the real client commands (`bin/wstcp connect`, `bin/wstcp forward`) as child processes, the way ssh
 * and users run them: data on stdin/stdout, the verdict in the exit code, logs on stderr.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { WSTCP_BIN } from './process.js';

export interface ClientRun {
  readonly child: ChildProcess;
  /** Resolves with the exit code (or the signal name) once the process has ended and its output is read. */
  readonly exited: Promise<number | string>;
  stdout(): Buffer;
  stderr(): string;
}

/** An environment without the caller's proxy variables, so that tests decide whether a proxy is used. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/_proxy$/i.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

/**
 * Starts `wstcp ...args` with piped stdio; killed after `timeoutMs` at the latest and when the test ends.
 * stdout is kept as bytes; stderr as text.
 */
export function runClient(
  t: TestContext,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): ClientRun {
  const child = spawn(process.execPath, [WSTCP_BIN, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: options.env ?? cleanEnv(),
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30000);
  // 'close', not 'exit': it comes after stdout and stderr are drained, so both are complete then.
  const exited = once(child, 'close').then(([code, signal]) => {
    clearTimeout(guard);
    return (code ?? signal) as number | string;
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const out: Buffer[] = [];
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  child.stdin!.on('error', () => {});
  return { child, exited, stdout: () => Buffer.concat(out), stderr: () => err };
}

/** Runs `wstcp connect ...args` with `input` on stdin (then EOF); resolves when it exits. */
export async function connectOnce(
  t: TestContext,
  args: string[],
  input: Buffer = Buffer.alloc(0),
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number | string; stdout: Buffer; stderr: string }> {
  const run = runClient(t, ['connect', ...args], options);
  run.child.stdin!.end(input);
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

export interface RunningForward extends ClientRun {
  /** The bound ports, in the order of the forwards. */
  readonly ports: number[];
  /** Parsed JSON log lines so far. */
  readonly lines: Record<string, unknown>[];
  /** Sends SIGTERM and waits for the exit code. */
  stop(): Promise<number | string>;
}

/** Starts `wstcp forward --log-format json ...args` and waits until its `count` listeners are bound. */
export async function startForward(
  t: TestContext,
  args: string[],
  count = 1,
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<RunningForward> {
  const run = runClient(t, ['forward', '--log-format', 'json', ...args], { ...options, timeoutMs: 120000 });
  const lines: Record<string, unknown>[] = [];
  const ports: number[] = [];
  let pending = '';
  await new Promise<void>((resolve, reject) => {
    run.child.stderr!.on('data', (chunk: string) => {
      pending += chunk;
      for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
        const text = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (!text.startsWith('{')) continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        if (line.event === 'forward.listening') {
          ports.push(Number(String(line.listen).split(':').pop()));
          if (ports.length === count) resolve();
        }
      }
    });
    void run.exited.then((code) => reject(new Error(`wstcp forward exited (${code}): ${run.stderr()}`)));
  });
  return {
    ...run,
    ports,
    lines,
    stop: async () => {
      run.child.kill('SIGTERM');
      return run.exited;
    },
  };
}
