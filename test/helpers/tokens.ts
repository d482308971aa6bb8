/**
 * Shared fixtures for the token tests: a real redis-server on a free port, a real
 * HTTP server, a fake handshake context for resolver tests, and tagged TCP targets that say who they are.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:net';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import type { HandshakeContext } from '../../src/admission/pipeline.js';
import { freePort } from './ports.js';

const run = promisify(execFile);

export interface RedisServer {
  readonly port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Runs redis-cli against this server (`-n DB` first to pick a db); resolves with its trimmed output. */
  cli(...args: string[]): Promise<string>;
}

/**
 * A real redis-server on a free loopback port, no persistence, stopped after the test.
 * `stop()` and `start()` restart it on the same port (the data is lost, which the tests rely on).
 */
export async function startRedis(
  t: TestContext,
  program: string,
  options: { password?: string; port?: number; tls?: { cert: string; key: string } } = {},
): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;
  const start = async () => {
    const args = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    if (options.tls) {
      args.push('--port', '0', '--tls-port', String(port), '--tls-auth-clients', 'no');
      args.push('--tls-cert-file', options.tls.cert, '--tls-key-file', options.tls.key);
    } else {
      args.push('--port', String(port));
    }
    if (options.password) args.push('--requirepass', options.password);
    const proc = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const deadline = Date.now() + 5000;
    while (!out.includes('Ready to accept connections')) {
      if (Date.now() > deadline || proc.exitCode !== null)
        throw new Error(`redis-server did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    proc.kill('SIGKILL');
    await once(proc, 'exit');
  };
  await start();
  t.after(stop);
  return {
    port,
    start,
    stop,
    cli: async (...args: string[]) => {
      const auth = options.password ? ['--no-auth-warning', '-a', options.password] : [];
      const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...auth, ...args]);
      return stdout.trim();
    },
  };
}

/** A handshake context for resolver tests: only what the resolver reads is real. */
export function handshake(path: string, headers: Record<string, string> = {}): HandshakeContext {
  const host = headers.host ?? '127.0.0.1:6080';
  return {
    req: { headers: { host, ...headers } } as unknown as IncomingMessage,
    url: new URL(path, `http://${host}`),
    clientAddress: '127.0.0.1',
    clientPort: 40000,
    secure: false,
    socket: undefined as never,
  };
}

/** A server that answers every connection with its name and a newline, then closes it. */
function namedServer(name: string): Server {
  return createServer((socket) => {
    socket.on('error', () => {});
    socket.end(`${name}\n`);
  });
}

/** TCP servers that greet each connection with their name: tells which target a session reached. */
export async function startNamedTargets(t: TestContext, names: string[]): Promise<Record<string, number>> {
  const ports: Record<string, number> = {};
  const servers: Server[] = [];
  for (const name of names) {
    const server = namedServer(name);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    ports[name] = typeof address === 'object' && address ? address.port : 0;
    servers.push(server);
  }
  t.after(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));
  return ports;
}

/** The same, listening on the unix socket `path`. */
export async function startNamedUnixTarget(t: TestContext, path: string, name: string): Promise<void> {
  const server = namedServer(name);
  server.listen(path);
  await once(server, 'listening');
  t.after(() => new Promise((r) => server.close(r)));
}
