/**
 * A black-holed target on loopback: a real listening socket that never accepts, its accept queue already
 * full, so the kernel drops every further SYN and a connect neither succeeds nor fails until the client
 * gives up (what a firewall that drops packets, or a wedged server, looks like). Node's servers always
 * accept, so the listener is a small python3 program; the queue is filled by connections held here.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

export interface BlackHole {
  readonly port: number;
  close(): Promise<void>;
}

const LISTENER = `
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(0)
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`;

/** Starts the listener and fills its queue; `close()` releases everything. */
export async function startBlackHole(python = 'python3'): Promise<BlackHole> {
  const child: ChildProcess = spawn(python, ['-c', LISTENER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const port = Number(line.toString().trim());
  const fillers: Socket[] = [];
  // listen(0) queues one connection on Linux; a second one is held too in case the kernel rounds up.
  for (let i = 0; i < 2; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    fillers.push(socket);
    await Promise.race([once(socket, 'connect'), new Promise((r) => setTimeout(r, 200))]);
  }
  return {
    port,
    close: async () => {
      for (const socket of fillers) socket.destroy();
      child.stdin?.end();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}
