/**
 * A real OpenSSH server (Debian `openssh-server`) for client tests: its own host key, one client key in a
 * temporary authorized_keys, listening on a free 127.0.0.1 port, stopped when the test ends. Also the ssh
 * and scp command lines that log in with that key and trust nothing from the user's own ssh setup.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { collectOutput, stopChild, waitUntilAccepting } from './peer-process.js';
import { freePort } from './ports.js';
import { requireProgram } from './programs.js';
import { tempDir } from './tmp.js';

export interface RunningSshd {
  readonly port: number;
  /** The user to log in as (the one running the tests). */
  readonly user: string;
  /** A scratch directory the test may use for files. */
  readonly dir: string;
  /** Options for ssh and scp: the client key, no known_hosts, no agent, no user config, batch mode. */
  readonly clientOptions: string[];
  output(): string;
}

const SSHD = '/usr/sbin/sshd';

/** Starts sshd, or resolves undefined when OpenSSH is not installed (the test is then skipped). */
export async function startSshd(t: TestContext): Promise<RunningSshd | undefined> {
  if (!requireProgram(t, SSHD, 'openssh-server') || !requireProgram(t, 'ssh', 'openssh-client'))
    return undefined;
  const { dir } = tempDir(t, 'wstcp-sshd-');
  const hostKey = join(dir, 'host_key');
  const clientKey = join(dir, 'client_key');
  for (const key of [hostKey, clientKey]) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], { stdio: 'ignore' });
  }
  writeFileSync(join(dir, 'authorized_keys'), execFileSync('cat', [`${clientKey}.pub`]));
  // sshd refuses to start as root without its privilege separation directory (the package's unit makes it).
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'StrictModes no',
        'UsePAM no',
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'Subsystem sftp internal-sftp',
        'LogLevel ERROR',
        '',
      ].join('\n'),
    );
    const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    const output = collectOutput(child);
    try {
      await waitUntilAccepting(child, port, 'sshd', output);
      t.after(() => stopChild(child));
      return {
        port,
        user: userInfo().username,
        dir,
        clientOptions: [
          '-F',
          '/dev/null',
          '-i',
          clientKey,
          '-o',
          'IdentitiesOnly=yes',
          '-o',
          'IdentityAgent=none',
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-o',
          'BatchMode=yes',
          '-o',
          'LogLevel=ERROR',
        ],
        output,
      };
    } catch (err) {
      lastError = err;
      await stopChild(child);
    }
  }
  throw lastError;
}
