/**
 * Child processes of the benchmark and what they cost: every process started here is registered, so one
 * `stopAll()` ends them all (bridges run in their own process group, which also takes websockify's
 * per-connection children). CPU and memory are read from /proc for a whole process tree.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';

const running = new Set<ChildProcess>();
const TICKS_PER_SECOND = 100;

/** Starts a registered child in its own process group. */
export function start(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options, detached: true });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM to the child's group, SIGKILL after `graceMs`. Resolves when the child has exited. */
export async function stop(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.pid === undefined) return;
  const pid = child.pid;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is gone already.
    }
  };
  if (!exited(child)) {
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    signalGroup('SIGTERM');
    const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
  // Forked children outlive a parent that exits on SIGTERM; they are in the same group.
  signalGroup('SIGKILL');
}

/** Ends every child still running (also used on failure and on Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => stop(child, 1500)));
}

/** Synchronous last resort for process 'exit': SIGKILL every registered group. */
export function killAllNow(): void {
  for (const child of running) {
    if (child.pid === undefined) continue;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/**
 * Runs a benchmark's `main`: the children it started die with the process (exit, Ctrl-C, SIGTERM), and a
 * failure is printed as `name: message` with exit code 1.
 */
export function runMain(name: string, main: () => Promise<void>): void {
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      killAllNow();
      process.exit(130);
    });
  }
  main().catch((err: unknown) => {
    process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}

/** Resolves with the first line of the child's stdout matching `pattern`, or rejects after `timeoutMs`. */
export function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs: number,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => finish(new Error(`no line matching ${pattern} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const match = buffered.match(pattern);
      if (match) finish(undefined, match);
    };
    const onExit = (code: number | null) => finish(new Error(`exited (${code}) before printing ${pattern}`));
    function finish(err: Error | undefined, match?: RegExpMatchArray) {
      clearTimeout(timer);
      child.stdout?.removeListener('data', onData);
      child.removeListener('exit', onExit);
      if (err) reject(err);
      else resolve(match!);
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Polls until a TCP connection to 127.0.0.1:port succeeds. */
export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function readStat(pid: number): { ppid: number; userTicks: number; systemTicks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const n = (i: number) => Number(fields[i - 3]);
    // utime + cutime, stime + cstime: reaped children count too.
    return { ppid: n(4), userTicks: n(14) + n(16), systemTicks: n(15) + n(17) };
  } catch {
    return undefined;
  }
}

/** The pid and all its live descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(pid);
    children.set(stat.ppid, list);
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

export interface CpuSeconds {
  /** Time in the process itself. */
  user: number;
  /** Time in the kernel on its behalf: socket reads and writes, TCP, page faults. */
  system: number;
}

/** CPU seconds (including reaped children) used so far by the tree under `root`. */
export function treeCpuSeconds(root: number): CpuSeconds {
  let user = 0;
  let system = 0;
  for (const pid of processTree(root)) {
    const stat = readStat(pid);
    user += stat?.userTicks ?? 0;
    system += stat?.systemTicks ?? 0;
  }
  return { user: user / TICKS_PER_SECOND, system: system / TICKS_PER_SECOND };
}

function statusKb(pid: number, file: string, field: string): number {
  try {
    const match = readFileSync(`/proc/${pid}/${file}`, 'utf8').match(
      new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'),
    );
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

export interface TreeMemory {
  processes: number;
  /** Proportional set size: shared pages split between the processes sharing them (fair for fork). */
  pssKb: number;
  /** Resident set size summed over the tree (counts pages shared after fork once per process). */
  rssKb: number;
}

export function treeMemory(root: number): TreeMemory {
  const tree = processTree(root);
  let pssKb = 0;
  let rssKb = 0;
  for (const pid of tree) {
    pssKb += statusKb(pid, 'smaps_rollup', 'Pss');
    rssKb += statusKb(pid, 'status', 'VmRSS');
  }
  return { processes: tree.length, pssKb, rssKb };
}
