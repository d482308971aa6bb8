/**
 * Real proxies in front of or behind wstcp (HAProxy, nginx), each started with a config written to a
 * temporary directory and listening on loopback ports the test chose. Killed when the test ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireProgram } from './programs.js';
import { tempDir } from './tmp.js';

export interface RunningProgram {
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Debian's nginx stream module (package libnginx-mod-stream). */
const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

/** Resolves once something accepts TCP connections on 127.0.0.1:`port` (bounded: 10 s). */
export async function waitForPort(port: number, host = '127.0.0.1', child?: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child && child.exitCode !== null) throw new Error(`the program exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${host}:${port}`);
}

/** Starts `command args`, collecting its output; `stop()` kills it and waits for its exit. */
export function runProgram(t: TestContext, command: string, args: string[]): RunningProgram {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  t.after(stop);
  return { child, output: () => output, stop };
}

/** HAProxy in the foreground with `config` (global/defaults added), or undefined when it is missing. */
export async function startHaproxy(
  t: TestContext,
  config: string,
  ports: readonly number[],
): Promise<RunningProgram | undefined> {
  const haproxy = requireProgram(t, 'haproxy');
  if (!haproxy) return undefined;
  const { dir } = tempDir(t, 'wstcp-haproxy-');
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(
    file,
    `global\n  maxconn 100\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n  timeout tunnel 1h\n${config}\n`,
  );
  const program = runProgram(t, haproxy, ['-db', '-f', file]);
  for (const port of ports) await waitForPort(port, '127.0.0.1', program.child);
  return program;
}

/**
 * nginx in the foreground, one process, with `http` as its http block (and `stream` as a stream block,
 * loading Debian's dynamic stream module), or undefined when it is missing.
 */
export async function startNginx(
  t: TestContext,
  http: string,
  ports: readonly number[],
  stream?: string,
): Promise<RunningProgram | undefined> {
  const nginx = requireProgram(t, 'nginx');
  if (!nginx) return undefined;
  const { dir } = tempDir(t, 'wstcp-nginx-');
  const file = join(dir, 'nginx.conf');
  writeFileSync(
    file,
    [
      ...(stream === undefined ? [] : [`load_module ${STREAM_MODULE};`]),
      'daemon off;',
      'master_process off;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'events { worker_connections 64; }',
      'http {',
      `  access_log off;`,
      `  client_body_temp_path ${dir}/body;`,
      `  proxy_temp_path ${dir}/proxy;`,
      `  fastcgi_temp_path ${dir}/fastcgi;`,
      `  uwsgi_temp_path ${dir}/uwsgi;`,
      `  scgi_temp_path ${dir}/scgi;`,
      http,
      '}',
      ...(stream === undefined ? [] : ['stream {', stream, '}']),
      '',
    ].join('\n'),
  );
  const program = runProgram(t, nginx, ['-p', dir, '-c', file]);
  for (const port of ports) await waitForPort(port, '127.0.0.1', program.child);
  return program;
}
