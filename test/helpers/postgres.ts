/**
 * A throwaway PostgreSQL cluster (Debian's `postgresql`) on a free loopback port with SCRAM password auth,
 * for clients that reach Postgres through wstcp (the Neon driver). PostgreSQL refuses to run as root, so
 * as root the cluster belongs to the `postgres` user (runuser) in a temp dir it owns.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './ports.js';

export interface Postgres {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** postgres://user:password@127.0.0.1:port/postgres */
  readonly url: string;
  stop(): void;
}

/** initdb's directory (/usr/lib/postgresql/NN/bin), the newest installed; undefined when none is. */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/** Skips the test (locally) or fails it (CI=true) when PostgreSQL is not installed; returns its bin dir. */
export function requirePostgres(t: TestContext): string | undefined {
  const bin = postgresBin();
  if (bin) return bin;
  const why = 'PostgreSQL is not installed (apt-get install postgresql)';
  if (process.env.CI === 'true') throw new Error(`CI=true and ${why}`);
  t.skip(`SKIPPED: ${why}`);
  return undefined;
}

function ids(name: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** Starts a cluster; the caller stops it (stop() also removes its files). Takes a second or two. */
export async function startPostgres(bin: string): Promise<Postgres> {
  const dir = mkdtempSync(join(tmpdir(), 'wstcp-pg-'));
  const data = join(dir, 'data');
  const user = 'wstcp';
  const password = 'wstcp-test-password';
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? ids('postgres') : undefined;
  const run = (program: string, args: string[]) => {
    const command = asRoot ? 'runuser' : join(bin, program);
    const argv = asRoot ? ['-u', 'postgres', '--', join(bin, program), ...args] : args;
    execFileSync(command, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
  };
  writeFileSync(join(dir, 'pwfile'), `${password}\n`);
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(join(dir, 'pwfile'), owner.uid, owner.gid);
  }
  const stopAndRemove = () => {
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('initdb', [
      '-D',
      data,
      '-U',
      user,
      `--pwfile=${join(dir, 'pwfile')}`,
      '--auth=scram-sha-256',
      '--no-sync',
    ]);
    writeFileSync(join(data, 'pg_hba.conf'), 'host all all 127.0.0.1/32 scram-sha-256\n');
    if (owner) chownSync(join(data, 'pg_hba.conf'), owner.uid, owner.gid);
  } catch (err) {
    stopAndRemove();
    throw err;
  }
  // The port was free a moment ago; another process may take it first, hence a few tries.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c password_encryption=scram-sha-256 -c fsync=off`;
    try {
      run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '30', 'start']);
      const url = `postgres://${user}:${password}@127.0.0.1:${port}/postgres`;
      return { port, user, password, url, stop: stopAndRemove };
    } catch (err) {
      if (attempt >= 2) {
        stopAndRemove();
        throw err;
      }
    }
  }
}
