/**
 * Runs the C load generator (bench/c/wsload.c) and parses the one JSON line it prints. Every run has a
 * hard deadline: a bridge that stops answering costs a failed figure, never a hung benchmark.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { start, stop, type TreeMemory, treeMemory, waitForLine } from './procs.js';

export interface LoadTarget {
  port: number;
  /** Plain TCP to the target itself (the limit), instead of WebSocket to a bridge. */
  raw?: boolean;
  tls?: boolean;
}

export interface StreamResult {
  mbps: number;
  bytes: number;
  total_bytes: number;
  errors: number;
}
export interface RttResult {
  p50_us: number;
  p99_us: number;
  p999_us: number;
  count: number;
}
export interface RateResult {
  per_s: number;
  sessions: number;
  failed: number;
}
export interface HoldResult {
  held: number;
  stopped: string;
  seconds: number;
}

function targetArgs(target: LoadTarget): string[] {
  return ['--port', String(target.port), ...(target.raw ? ['--raw'] : []), ...(target.tls ? ['--tls'] : [])];
}

/** Runs one wsload measurement; `seconds` + warm-up + 20 s is the hard limit. */
export function runLoad<T>(
  wsload: string,
  mode: string,
  target: LoadTarget,
  args: string[],
  seconds: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = start(wsload, [mode, ...targetArgs(target), '--seconds', String(seconds), ...args]);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      if (line.startsWith('{')) resolve(JSON.parse(line) as T);
      else reject(new Error(`wsload ${mode} failed (${signal ?? code}): ${err.trim() || 'no output'}`));
    });
  });
}

export interface HeldSessions {
  result: HoldResult;
  /** Closes the sessions (wsload resets them) and waits for wsload to exit. */
  release(): Promise<void>;
}

/** Opens up to `count` idle sessions and keeps them open until `release()`. */
export async function holdSessions(
  wsload: string,
  target: LoadTarget,
  count: number,
  openSeconds: number,
  minFreeMb: number,
): Promise<HeldSessions> {
  const child = start(
    wsload,
    ['hold', ...targetArgs(target), '--count', String(count), '--seconds', String(openSeconds)].concat([
      '--min-free-mb',
      String(minFreeMb),
    ]),
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  try {
    const match = await waitForLine(child, /^\{.*\}$/m, (openSeconds + 30) * 1000);
    const result = JSON.parse(match[0]) as HoldResult;
    return {
      result,
      release: async () => {
        child.stdin?.end();
        await stop(child, 10000);
      },
    };
  } catch (err) {
    await stop(child);
    throw err;
  }
}

export interface HeldMemory {
  held: HoldResult;
  /** The bridge's process tree before the sessions opened, and while they were held. */
  before: TreeMemory;
  after: TreeMemory;
}

/**
 * The memory of the tree under `bridge.pid` with no sessions (after 1 s to settle) and with up to `count`
 * idle ones held (2 s after they opened); the sessions are released before this resolves.
 */
export async function heldSessionMemory(
  wsload: string,
  bridge: { pid: number; port: number },
  count: number,
  openSeconds: number,
  minFreeMb: number,
): Promise<HeldMemory> {
  await sleep(1000);
  const before = treeMemory(bridge.pid);
  const held = await holdSessions(wsload, { port: bridge.port }, count, openSeconds, minFreeMb);
  try {
    await sleep(2000);
    return { held: held.result, before, after: treeMemory(bridge.pid) };
  } finally {
    await held.release();
  }
}
