// TokenFileName and UnixDomainSocketDirectory: one file or socket per token, and no way out of the
// directory (../, absolute paths, backslashes and NUL are all unknown tokens).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { TokenFileNameStore } from '../../src/tokens/name-dir-store.js';
import { StoreUnavailableError } from '../../src/tokens/store.js';
import { UnixSocketDirStore } from '../../src/tokens/unix-dir-store.js';
import { tempDir } from '../helpers/tmp.js';

const TRAVERSALS = [
  '../secret',
  '../../etc/passwd',
  '/etc/passwd',
  'sub/../../secret',
  '..',
  '.',
  '',
  'a\\..\\b',
  'x\0y',
];

test('TokenFileName: the file named by the token holds host:port', async (t) => {
  const root = tempDir(t).dir;
  const dir = join(root, 'tokens');
  mkdirSync(dir);
  writeFileSync(join(dir, 'desk1'), '10.0.0.1:5900\n');
  writeFileSync(join(dir, 'six'), '::1:5901');
  writeFileSync(join(dir, 'broken'), 'nonsense');
  writeFileSync(join(root, 'secret'), '10.6.6.6:22\n');
  mkdirSync(join(dir, 'sub'));
  const store = new TokenFileNameStore(dir);
  assert.deepEqual(await store.lookup('desk1'), { kind: 'tcp', host: '10.0.0.1', port: 5900 });
  assert.deepEqual(await store.lookup('six'), { kind: 'tcp', host: '::1', port: 5901 });
  assert.equal(await store.lookup('nobody'), undefined);
  assert.equal(await store.lookup('sub'), undefined, 'a directory is not a token');
  await assert.rejects(store.lookup('broken'), StoreUnavailableError);
  for (const token of TRAVERSALS) assert.equal(await store.lookup(token), undefined, JSON.stringify(token));

  await store.set('new', { kind: 'tcp', host: 'h', port: 7 });
  assert.equal(readFileSync(join(dir, 'new'), 'utf8'), 'h:7\n');
  await assert.rejects(store.set('../escape', { kind: 'tcp', host: 'h', port: 7 }));
  await assert.rejects(
    store.list(),
    StoreUnavailableError,
    'list reports the broken entry rather than hiding it',
  );
  assert.equal(await store.remove('broken'), true);
  assert.deepEqual(
    (await store.list()).map((e) => e.token),
    ['desk1', 'new', 'six'],
  );
});

test('UnixDomainSocketDirectory: only sockets directly inside the directory', async (t) => {
  const root = tempDir(t).dir;
  const dir = join(root, 'sockets');
  mkdirSync(dir);
  const server = createServer((s) => s.end());
  server.listen(join(dir, 'alice'));
  await once(server, 'listening');
  t.after(() => new Promise((r) => server.close(r)));
  const outside = createServer((s) => s.end());
  outside.listen(join(root, 'secret'));
  await once(outside, 'listening');
  t.after(() => new Promise((r) => outside.close(r)));
  writeFileSync(join(dir, 'file'), 'not a socket');
  symlinkSync(join(root, 'secret'), join(dir, 'link-out'));
  symlinkSync(join(dir, 'alice'), join(dir, 'link-in'));

  const store = new UnixSocketDirStore(dir);
  assert.deepEqual(await store.lookup('alice'), { kind: 'unix', path: join(dir, 'alice') });
  assert.equal(await store.lookup('file'), undefined);
  assert.equal(await store.lookup('bob'), undefined);
  assert.equal(await store.lookup('link-out'), undefined, 'a symlink to a socket outside the directory');
  assert.deepEqual(await store.lookup('link-in'), { kind: 'unix', path: join(dir, 'alice') });
  for (const token of TRAVERSALS) assert.equal(await store.lookup(token), undefined, JSON.stringify(token));
});
