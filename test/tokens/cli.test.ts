// `wstcp tokens`: check a token file, and set/get/rm/list against a token file, a token directory and a
// real Redis; read-only stores and bad arguments are refused with exit code 2.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { tokensCommand } from '../../src/tokens/cli.js';
import { requireProgram } from '../helpers/programs.js';
import { tempDir } from '../helpers/tmp.js';
import { startRedis } from '../helpers/tokens.js';

async function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await tokensCommand(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

test('check: prints the table, or every problem as file:line with exit 1', async (t) => {
  const dir = tempDir(t).dir;
  const good = join(dir, 'good');
  const bad = join(dir, 'bad');
  writeFileSync(good, '# c\nb: ::1:5901\na: 10.0.0.1:5900\n');
  writeFileSync(bad, 'a: 10.0.0.1:5900\nb 10.0.0.2:5900\nc: h:0\n');
  const ok = await run('check', good);
  assert.equal(ok.code, 0);
  assert.deepEqual(ok.out, ['a: 10.0.0.1:5900', 'b: ::1:5901']);
  const failed = await run('check', bad);
  assert.equal(failed.code, 1);
  assert.equal(failed.err.length, 2);
  assert.ok(failed.err[0]!.startsWith(`${bad}:2: `));
  assert.ok(failed.err[1]!.startsWith(`${bad}:3: `));
  assert.equal((await run('check', join(dir, 'missing'))).code, 2);
});

test('set/get/rm/list on a token file (websockify plugin flags) and a token directory (--tokens dir:)', async (t) => {
  const dir = tempDir(t).dir;
  const file = join(dir, 'tokens');
  writeFileSync(file, '# desktops\n');
  const flags = ['--token-plugin', 'websockify.token_plugins.TokenFile', '--token-source', file];
  assert.equal((await run('set', 'desk1', '10.0.0.1:5900', ...flags)).code, 0);
  assert.equal((await run('set', 'desk2', '[fd00::2]:5901', ...flags)).code, 0);
  assert.equal(readFileSync(file, 'utf8'), '# desktops\ndesk1: 10.0.0.1:5900\ndesk2: fd00::2:5901\n');
  assert.deepEqual((await run('get', 'desk2', ...flags)).out, ['fd00::2:5901']);
  assert.deepEqual((await run('list', ...flags)).out, ['desk1: 10.0.0.1:5900', 'desk2: fd00::2:5901']);
  assert.equal((await run('rm', 'desk1', ...flags)).code, 0);
  assert.equal((await run('rm', 'desk1', ...flags)).code, 1);
  assert.equal((await run('get', 'desk1', ...flags)).code, 1);

  const tokenDir = join(dir, 'by-name');
  mkdirSync(tokenDir);
  assert.equal(
    (await run('set', 'alice', 'unix_socket:/run/vnc/alice', '--tokens', `dir:${tokenDir}`)).code,
    0,
  );
  assert.equal(readFileSync(join(tokenDir, 'alice'), 'utf8'), 'unix_socket:/run/vnc/alice\n');
  assert.deepEqual((await run('list', '--tokens', `dir:${tokenDir}`)).out, [
    'alice: unix_socket:/run/vnc/alice',
  ]);
  assert.equal((await run('set', '../evil', 'h:1', '--tokens', `dir:${tokenDir}`)).code, 2);
});

test('set/get/rm/list on a real Redis, JSON by default and plain on request', async (t) => {
  const program = requireProgram(t, 'redis-server');
  if (!program) return;
  const redis = await startRedis(t, program);
  const flags = ['--token-plugin', 'TokenRedis', '--token-source', `127.0.0.1:${redis.port}:0::desk`];
  assert.equal((await run('set', 'one', '10.0.0.1:5900', ...flags)).code, 0);
  assert.equal(await redis.cli('GET', 'desk:one'), '{"host":"10.0.0.1:5900"}');
  assert.equal((await run('set', 'two', '10.0.0.2:5900', '--format', 'plain', ...flags)).code, 0);
  assert.equal(await redis.cli('GET', 'desk:two'), '10.0.0.2:5900');
  assert.deepEqual((await run('list', '--tokens', `redis://127.0.0.1:${redis.port}/0?prefix=desk`)).out, [
    'one: 10.0.0.1:5900',
    'two: 10.0.0.2:5900',
  ]);
  assert.equal((await run('rm', 'one', ...flags)).code, 0);
  assert.equal(await redis.cli('EXISTS', 'desk:one'), '0');
});

test('refusals: read-only stores, bad targets and tokens, no store, a Redis that is down', async () => {
  const api = ['--tokens', 'http://127.0.0.1:1/{token}'];
  assert.equal((await run('set', 'a', 'h:1', ...api)).code, 2);
  assert.equal((await run('list', ...api)).code, 2);
  assert.equal((await run('set', 'a', 'nonsense', '--tokens', 'file:/nonexistent')).code, 2);
  assert.equal((await run('set', 'a b', 'h:1', '--tokens', 'file:/nonexistent')).code, 2);
  assert.equal((await run('list')).code, 2);
  assert.equal((await run('frobnicate')).code, 2);
  const down = await run('get', 'x', '--tokens', 'redis://127.0.0.1:1/0', '--token-timeout', '0.2');
  assert.equal(down.code, 1);
  assert.equal(down.err.length, 1);
});

test('bin/wstcp dispatches `tokens` to the subcommand', async (t) => {
  const file = join(tempDir(t).dir, 'tokens');
  writeFileSync(file, 'a: 127.0.0.1:5900\n');
  const { stdout } = await promisify(execFile)(process.execPath, ['bin/wstcp', 'tokens', 'check', file]);
  assert.equal(stdout, 'a: 127.0.0.1:5900\n');
  await assert.rejects(
    promisify(execFile)(process.execPath, ['bin/wstcp', 'tokens', 'check', '/nonexistent']),
    {
      code: 2,
    },
  );
});

test('tokens.example is a valid token file', async () => {
  const result = await run('check', 'tokens.example');
  assert.equal(result.code, 0, result.err.join('\n'));
  assert.ok(result.out.includes('desk-1f0c9a7e: 192.168.10.22:5900'), 'the later duplicate wins');
  assert.ok(result.out.includes('desk-5e1a2f4c: unix_socket:/run/vnc/alice.sock'));
  assert.equal(result.out.length, 5);
});
