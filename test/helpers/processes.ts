/**
 * What is left of a program after its session: processes read from /proc (Linux), so that tests can show
 * that no member of a program's process group survives and no zombie waits for the bridge to reap it.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  /** R, S, D, Z (zombie), ... */
  readonly state: string;
  readonly name: string;
}

function readProcess(pid: number): ProcessInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The name is in parentheses and may itself hold spaces or parentheses: split after the last ')'.
  const close = stat.lastIndexOf(')');
  const name = stat.slice(stat.indexOf('(') + 1, close);
  const fields = stat.slice(close + 2).split(' ');
  return { pid, name, state: fields[0]!, ppid: Number(fields[1]), pgid: Number(fields[2]) };
}

export function allProcesses(): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = readProcess(Number(entry));
    if (info) found.push(info);
  }
  return found;
}

/**
 * Members of process group `pgid` that still run or wait to be reaped by someone who can. Zombies whose
 * parent is pid 1 are left out: they are init's to reap, and the container this may run in has an init
 * that never does.
 */
export function groupMembers(pgid: number): ProcessInfo[] {
  return allProcesses().filter((p) => p.pgid === pgid && !(p.state === 'Z' && p.ppid === 1));
}

/** Children of `pid` (of this process by default), zombies included. */
export function childrenOf(pid = process.pid): ProcessInfo[] {
  return allProcesses().filter((p) => p.ppid === pid);
}

/**
 * Children of `pid`, their children and so on (zombies included): a bridge's programs are children of its
 * spawner process, not of the bridge.
 */
export function descendantsOf(pid = process.pid): ProcessInfo[] {
  const all = allProcesses();
  const found: ProcessInfo[] = [];
  const parents = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        found.push(p);
        grew = true;
      }
    }
  }
  return found;
}

/** Waits until `check` holds, polling every 20 ms; throws with `what` after `timeoutMs`. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
