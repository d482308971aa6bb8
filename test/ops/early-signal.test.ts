/**
 * A SIGTERM that arrives while wstcp is still starting (here: waiting for its --limits-store) stops it the
 * graceful way once it has started. Before, the signal's default action killed it mid-start: programs a
 * feed had already started, in process groups of their own, were left running.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEcho } from '../helpers/bridge.js';
import { WSTCP_BIN } from '../helpers/process.js';
import { requireProgram } from '../helpers/programs.js';
import { startRedis } from '../helpers/tokens.js';

test('SIGTERM while starting: wstcp finishes starting, then stops gracefully with exit 0', async (t) => {
  const program = requireProgram(t, 'redis-server');
  if (!program) return;
  const redis = await startRedis(t, program);
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.cli('info', 'server'))?.[1]);
  assert.ok(redisPid > 0);
  const echo = await startEcho();
  t.after(() => echo.close());
  // A stopped redis-server accepts connections (the kernel does) but answers nothing: the start waits.
  process.kill(redisPid, 'SIGSTOP');
  t.after(() => {
    try {
      process.kill(redisPid, 'SIGCONT');
    } catch {
      // Already gone: the redis helper's own teardown may run first.
    }
  });
  const args = [
    '--log-format',
    'json',
    '--limits-store',
    `redis://127.0.0.1:${redis.port}/0`,
    '--max-connections',
    '5',
    '127.0.0.1:0',
    `127.0.0.1:${echo.port}`,
  ];
  const child = spawn(process.execPath, [WSTCP_BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await sleep(1000);
  assert.doesNotMatch(stderr, /bridge\.listening/, 'still starting');
  child.kill('SIGTERM');
  await sleep(300);
  process.kill(redisPid, 'SIGCONT');
  const [code, signal] = await exited;
  assert.deepEqual([code, signal], [0, null], stderr);
  const events = stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { event: string; reason?: string });
  const listening = events.findIndex((line) => line.event === 'bridge.listening');
  const stopping = events.findIndex((line) => line.event === 'bridge.stopping');
  assert.ok(listening >= 0 && stopping > listening, stderr);
  assert.equal(events[stopping]!.reason, 'SIGTERM');
});
