/**
 * A real three-node Redis Cluster on free loopback ports (no replicas, no persistence), built with
 * `redis-cli --cluster create`, stopped after the test.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { tempDir } from './tmp.js';

const run = promisify(execFile);

export interface RedisCluster {
  readonly ports: readonly number[];
}

export async function startRedisCluster(t: TestContext, program: string): Promise<RedisCluster> {
  const { dir } = tempDir(t, 'wstcp-cluster-');
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  t.after(async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null) return;
        child.kill('SIGKILL');
        await once(child, 'exit');
      }),
    );
  });
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const child = spawn(
      program,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    );
    children.push(child);
    ports.push(port);
  }
  for (const port of ports) await waitFor(async () => (await cli(port, 'PING')) === 'PONG');
  await run('redis-cli', [
    '--cluster',
    'create',
    ...ports.map((p) => `127.0.0.1:${p}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]);
  for (const port of ports) {
    await waitFor(async () => (await cli(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'));
  }
  return { ports };
}

async function cli(port: number, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
    return stdout.trim();
  } catch {
    return '';
  }
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('redis cluster did not come up');
    await new Promise((r) => setTimeout(r, 100));
  }
}
