/**
 * What to do when the port cannot be bound, said in the startup error: which process holds a port in
 * use (read from /proc on Linux, where it costs a few file reads), and for a port below 1024 the
 * capability or a higher port. Best effort: without /proc, or for another user's process, the hint is
 * shorter, never wrong.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, dirname } from 'node:path';

/** The sentence after "cannot listen on ADDRESS: ..." for an EADDRINUSE or EACCES, or undefined. */
export function listenHint(
  code: string | undefined,
  where: { readonly port?: number; readonly path?: string },
): string | undefined {
  const { port, path } = where;
  if (path !== undefined && (code === 'EACCES' || code === 'ENOENT')) {
    return `the directory of --unix-listen must exist and be writable by wstcp's user (${dirname(path)})`;
  }
  if (code === 'EADDRINUSE' && port !== undefined) {
    const holder = processListeningOn(port);
    return holder
      ? `${holder} is listening on port ${port}: stop it, or choose another port`
      : `another process is listening on port ${port} (\`ss -ltnp 'sport = :${port}'\` shows which): stop it, or choose another port`;
  }
  if (code === 'EACCES' && port !== undefined && port > 0 && port < 1024) {
    return (
      `ports below 1024 need root or the capability CAP_NET_BIND_SERVICE: under systemd add ` +
      `AmbientCapabilities=CAP_NET_BIND_SERVICE, or choose a port of 1024 or more (e.g. 6080)`
    );
  }
  return undefined;
}

/** "PROGRAM (pid N)" of a process with a listening TCP socket on `port`, if /proc can tell. */
export function processListeningOn(port: number): string | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or another user's process
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode !== undefined && inodes.has(inode)) return `${programName(pid)} (pid ${pid})`;
    }
  }
  return undefined;
}

/** Socket inodes in state LISTEN (0A) on the port, from /proc/net/tcp and tcp6. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      if (fields.length > 9 && fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A' && fields[9] !== '0')
        inodes.add(fields[9]!);
    }
  }
  return inodes;
}

/** The program's name; for a Node program (wstcp itself, often) the script's, which says more than "node". */
function programName(pid: string): string {
  try {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    if (comm !== 'node' && comm !== 'nodejs') return comm;
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const script = args.slice(1).find((arg) => arg !== '' && !arg.startsWith('-'));
    return script ? `${basename(script)} (node)` : comm;
  } catch {
    return 'a process';
  }
}
