/**
 * The real Nchan (Debian's nginx + libnginx-mod-nchan) as an interop peer: one nginx per test file, its
 * own prefix directory and config, listening on a free loopback port, with the same endpoints and
 * buffer settings wstcp uses by default (/pub/ID, /sub/ID with "," multiplexing).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './ports.js';
import { requireProgram } from './programs.js';

export const NCHAN_MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so';

export interface NchanPeer {
  readonly port: number;
  readonly base: string;
  readonly pid: number | undefined;
  close(): Promise<void>;
}

export interface NchanOptions {
  /** nchan_message_buffer_length (default 10). */
  readonly bufferLength?: number;
  /** nchan_message_timeout in seconds (default 3600). */
  readonly messageTimeout?: number;
  /** Extra `location` blocks, e.g. with another nchan_subscriber_first_message. */
  readonly extraLocations?: string;
  /** worker_processes (default 1). */
  readonly workers?: number;
}

/** Skips (locally) or fails (CI) when nginx or the module is missing; otherwise starts Nchan. */
export async function startNchan(t: TestContext, options: NchanOptions = {}): Promise<NchanPeer | undefined> {
  const nginx = requireProgram(t, 'nginx', 'nginx libnginx-mod-nchan');
  if (!nginx) return undefined;
  if (!existsSync(NCHAN_MODULE)) {
    const why = `${NCHAN_MODULE} is missing (apt-get install libnginx-mod-nchan)`;
    if (process.env.CI === 'true') throw new Error(`CI=true and ${why}`);
    t.skip(`SKIPPED: ${why}`);
    return undefined;
  }
  const peer = await launchNchan(nginx, options);
  t.after(() => peer.close());
  return peer;
}

/** Starts nginx with Nchan; the caller closes it. */
export async function launchNchan(nginx: string, options: NchanOptions = {}): Promise<NchanPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'wstcp-nchan-'));
  mkdirSync(join(dir, 'logs'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = nginxConfig(dir, port, options);
    writeFileSync(join(dir, 'nginx.conf'), config);
    const child = spawn(nginx, ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    if (await listening(port, child)) {
      return {
        port,
        base: `127.0.0.1:${port}`,
        pid: child.pid,
        close: async () => {
          if (child.exitCode === null) {
            child.kill('SIGTERM');
            await once(child, 'exit');
          }
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    const log = existsSync(join(dir, 'logs/error.log'))
      ? readFileSync(join(dir, 'logs/error.log'), 'utf8')
      : '';
    if (attempt >= 2 || !/Address already in use/.test(stderr + log)) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nginx with nchan did not start: ${stderr}${log}`);
    }
  }
}

function nginxConfig(dir: string, port: number, options: NchanOptions): string {
  return `load_module ${NCHAN_MODULE};
daemon off;
master_process ${options.workers && options.workers > 1 ? 'on' : 'off'};
worker_processes ${options.workers ?? 1};
worker_rlimit_nofile 65536;
error_log ${dir}/logs/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 30000; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  nchan_message_buffer_length ${options.bufferLength ?? 10};
  nchan_message_timeout ${options.messageTimeout ?? 3600}s;
  server {
    listen 127.0.0.1:${port};
    ${options.extraLocations ?? ''}
    location ~ ^/pub/(.+)$ { nchan_publisher; nchan_channel_id $1; }
    location ~ ^/sub/(.+)$ { nchan_subscriber; nchan_channel_id $1; nchan_channel_id_split_delimiter ","; }
  }
}
`;
}

async function listening(port: number, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 30));
  }
  return false;
}
