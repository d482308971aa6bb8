// --dir: a URL reaches an executable under DIR and nothing else; PATH_INFO is what follows the script.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ScriptDir } from '../../src/targets/command/script-dir.js';
import { writeScript } from '../helpers/commands.js';
import { tempDir } from '../helpers/tmp.js';

function layout(t: { after(fn: () => void): void }) {
  const base = tempDir(t, 'wstcp-dir-').dir;
  const root = join(base, 'scripts');
  mkdirSync(join(root, 'tools'), { recursive: true });
  writeScript(root, 'counter.sh', '#!/bin/sh\necho hi\n');
  writeScript(join(root, 'tools'), 'echo.py', '#!/usr/bin/env python3\n');
  writeScript(root, 'plain.txt', 'not a program\n', 0o644);
  writeScript(root, 'space name.sh', '#!/bin/sh\n');
  writeScript(base, 'outside.sh', '#!/bin/sh\necho outside\n');
  symlinkSync(join(base, 'outside.sh'), join(root, 'escape.sh'));
  symlinkSync(base, join(root, 'up'));
  symlinkSync(join(root, 'counter.sh'), join(root, 'alias.sh'));
  writeFileSync(join(base, 'secret'), 'x');
  return { base, root, dir: new ScriptDir(root) };
}

test('the first file on the path is the script; the rest is PATH_INFO', async (t) => {
  const { root, dir } = layout(t);
  assert.deepEqual(await dir.resolve('/counter.sh'), {
    file: join(root, 'counter.sh'),
    scriptName: '/counter.sh',
    pathInfo: '',
  });
  assert.deepEqual(await dir.resolve('/tools/echo.py/a/b%20c'), {
    file: join(root, 'tools', 'echo.py'),
    scriptName: '/tools/echo.py',
    pathInfo: '/a/b c',
  });
  assert.equal((await dir.resolve('/counter.sh/'))?.pathInfo, '/');
  assert.equal((await dir.resolve('/space%20name.sh'))?.scriptName, '/space name.sh');
});

test('a symlink to a script inside DIR is followed', async (t) => {
  const { root, dir } = layout(t);
  assert.equal((await dir.resolve('/alias.sh'))?.file, join(root, 'alias.sh'));
});

test('directories, missing files and non-executables are not found', async (t) => {
  const { dir } = layout(t);
  for (const path of [
    '/',
    '/tools',
    '/tools/',
    '/missing.sh',
    '/tools/missing',
    '/plain.txt',
    '/plain.txt/x',
  ]) {
    assert.equal(await dir.resolve(path), undefined, path);
  }
});

test('nothing outside DIR is reachable: .., encoded forms, empty segments and symlinks out', async (t) => {
  const { dir } = layout(t);
  const attempts = [
    '/../outside.sh',
    '/tools/../../outside.sh',
    '/%2e%2e/outside.sh',
    '/%2E%2E/outside.sh',
    '/tools/%2e%2e/%2e%2e/outside.sh',
    '/..%2foutside.sh',
    '/tools%2f..%2f..%2foutside.sh',
    '//counter.sh',
    '/./counter.sh',
    '/escape.sh',
    '/up/outside.sh',
    '/counter.sh%00',
    '/%zz',
    'counter.sh',
  ];
  for (const path of attempts) assert.equal(await dir.resolve(path), undefined, path);
});

test('a path that leaves DIR through a symlink and comes back reaches only a script inside DIR', async (t) => {
  const { dir } = layout(t);
  assert.equal((await dir.resolve('/up/scripts/counter.sh'))?.scriptName, '/up/scripts/counter.sh');
  assert.equal(await dir.resolve('/up/outside.sh'), undefined);
});
