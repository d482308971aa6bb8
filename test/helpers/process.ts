/**
 * Runs the real `bin/wstcp` as a child process, for what only a process can show: signals, exit codes,
 * --run-once and the timeouts that end the program. Logs are read as JSON lines from stderr.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const WSTCP_BIN = fileURLToPath(new URL('../../../bin/wstcp', import.meta.url));

export interface WstcpProcess {
  readonly child: ChildProcess;
  /** The port from the bridge.listening line (0 when the process exited before listening). */
  readonly port: number;
  /** Parsed JSON log lines so far. */
  readonly lines: Record<string, unknown>[];
  /** Raw stderr so far. */
  stderr(): string;
  /** Raw stdout so far (--help, --version). */
  stdout(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts `wstcp --log-format json ...args` and waits for its listening line (or its exit, for error cases).
 * The process is killed if it is still running after `timeoutMs`.
 */
export async function spawnWstcp(
  args: string[],
  timeoutMs = 20000,
  env: NodeJS.ProcessEnv = process.env,
): Promise<WstcpProcess> {
  const child = spawn(process.execPath, [WSTCP_BIN, '--log-format', 'json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = once(child, 'exit').then(([code, signal]) => {
    clearTimeout(guard);
    return (code ?? signal) as number | string;
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  let stdout = '';
  const stdoutEnded = once(child.stdout!, 'end').catch(() => {});
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    stdout += chunk;
  });
  let pending = '';
  let port = 0;
  const listening = new Promise<void>((resolve) => {
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const text = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
        if (!text.startsWith('{')) continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        if (line.event === 'bridge.listening') {
          port = Number(String(line.listen).split(':').pop());
          resolve();
        }
      }
    });
    void exited.then(() => resolve());
  });
  await listening;
  // Let the last stdout bytes of a process that already exited arrive.
  if (port === 0) await stdoutEnded;
  return {
    child,
    port,
    lines,
    stderr: () => stderr,
    stdout: () => stdout,
    exited,
    kill: (signal = 'SIGTERM') => child.kill(signal),
  };
}
