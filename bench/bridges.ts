/**
 * The bridges under test, each started as its own process (group) on a free loopback port in front of
 * one target: wstcp (`node bin/wstcp`) and the Python websockify. Their logs go to files, so a failed
 * run can be diagnosed without the log output costing terminal time during the measurement.
 */
import type { ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { start, stop, waitForPort } from './procs.js';

export type BridgeKind = 'wstcp' | 'websockify';

export interface BridgeSetup {
  root: string;
  workDir: string;
  websockify: string | undefined;
  tls: { cert: string; key: string } | undefined;
  /** Extra wstcp flags for every wstcp started (`--wstcp-args`), e.g. `--metrics 127.0.0.1:0`. */
  wstcpArgs?: readonly string[];
}

export interface RunningBridge {
  kind: BridgeKind;
  port: number;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (the bridges take their port on the command line). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

let logCounter = 0;

/** Starts `kind` in front of 127.0.0.1:targetPort; resolves once it accepts connections. */
export async function startBridge(
  kind: BridgeKind,
  targetPort: number,
  setup: BridgeSetup,
  options: { workers?: number; tls?: boolean; nodeArgs?: string[]; target?: string } = {},
): Promise<RunningBridge> {
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  // `target` (wstcp only): another target text, such as a pool.
  const target = options.target ?? `127.0.0.1:${targetPort}`;
  const tlsArgs = options.tls && setup.tls ? ['--cert', setup.tls.cert, '--key', setup.tls.key] : [];
  const logFile = join(setup.workDir, `${kind}-${++logCounter}.log`);
  const out = openSync(logFile, 'a');
  let child: ChildProcess;
  if (kind === 'wstcp') {
    const workers = options.workers ? ['--workers', String(options.workers)] : [];
    const bin = join(setup.root, 'bin', 'wstcp');
    const line = shebang(bin);
    child = start(
      process.execPath,
      [
        ...line.nodeArgs,
        ...(options.nodeArgs ?? []),
        bin,
        ...(setup.wstcpArgs ?? []),
        ...tlsArgs,
        ...workers,
        listen,
        target,
      ],
      { stdio: ['ignore', out, out], cwd: setup.workDir, env: { ...process.env, ...line.env } },
    );
  } else {
    if (!setup.websockify) throw new Error('websockify is not installed');
    child = start(setup.websockify, [...tlsArgs, listen, target], { stdio: ['ignore', out, out] });
  }
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`exited (${signal ?? code}) before listening`))),
  );
  exited.catch(() => {});
  try {
    await Promise.race([waitForPort(port, 30000), exited]);
  } catch (err) {
    await stop(child);
    throw new Error(`${kind} did not start: ${(err as Error).message}; its log ends:\n${logTail(logFile)}`);
  }
  return { kind, port, pid: child.pid!, child, stop: () => stop(child) };
}

/**
 * startBridge with one retry: the free port may be taken between choosing and binding it, and a machine
 * still reaping hundreds of websockify children can be slow to start the next bridge.
 */
export async function startBridgeRetrying(
  kind: BridgeKind,
  targetPort: number,
  setup: BridgeSetup,
  options: { workers?: number; tls?: boolean; target?: string } = {},
): Promise<RunningBridge> {
  try {
    return await startBridge(kind, targetPort, setup, options);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\nbench: retrying once\n`);
    return startBridge(kind, targetPort, setup, options);
  }
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-6).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * The environment and node flags of bin/wstcp's `#!/usr/bin/env -S NAME=VALUE ... node FLAGS` line, so that
 * the benchmark runs wstcp exactly as the installed command does (while still adding --cpu-prof and such).
 */
export function shebang(bin: string): { env: Record<string, string>; nodeArgs: string[] } {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  const words = /^#!\S*env -S (.*)$/.exec(first)?.[1]?.trim().split(/\s+/) ?? [];
  const node = words.indexOf('node');
  const env: Record<string, string> = {};
  for (const word of words.slice(0, Math.max(0, node))) {
    const [name, value] = word.split('=', 2);
    if (name && value !== undefined) env[name] = value;
  }
  return { env, nodeArgs: node < 0 ? [] : words.slice(node + 1) };
}
