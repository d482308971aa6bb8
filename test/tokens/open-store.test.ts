// Every websockify plugin name and every --tokens form opens the store it names; bad specs are ConfigErrors.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { Logger } from '../../src/observe/log.js';
import { TokenApiStore } from '../../src/tokens/api-store.js';
import { TokenFileStore } from '../../src/tokens/file-store.js';
import { JwtTokenStore } from '../../src/tokens/jwt-store.js';
import { TokenFileNameStore } from '../../src/tokens/name-dir-store.js';
import { openTokenStore, storeSpec } from '../../src/tokens/open-store.js';
import { UnixSocketDirStore } from '../../src/tokens/unix-dir-store.js';
import { tempDir } from '../helpers/tmp.js';

const quiet = new Logger({ sink: () => {} });

test('plugin names and native forms open the right store', async (t) => {
  const dir = tempDir(t).dir;
  const file = join(dir, 'tokens');
  const sub = join(dir, 'sub');
  const key = join(dir, 'jwt.key');
  writeFileSync(file, 'a: h:1\n');
  mkdirSync(sub);
  writeFileSync(key, randomBytes(32).toString('base64url'));
  const cases: Array<[string, string, unknown]> = [
    ['TokenFile', file, TokenFileStore],
    ['ReadOnlyTokenFile', file, TokenFileStore],
    ['websockify.token_plugins.TokenFile', file, TokenFileStore],
    ['TokenFileName', sub, TokenFileNameStore],
    ['UnixDomainSocketDirectory', sub, UnixSocketDirStore],
    ['JWTTokenApi', key, JwtTokenStore],
    ['BaseTokenAPI', 'http://127.0.0.1:1/?t=%s', TokenApiStore],
    ['JSONTokenApi', 'http://127.0.0.1:1/%s', TokenApiStore],
    ['native', `file:${file}`, TokenFileStore],
    ['native', `dir:${sub}`, TokenFileNameStore],
    ['native', `sockets:${sub}`, UnixSocketDirStore],
    ['native', `jwt:${key}`, JwtTokenStore],
    ['native', 'https://api.example/{token}', TokenApiStore],
  ];
  for (const [plugin, source, kind] of cases) {
    const name = plugin.slice(plugin.lastIndexOf('.') + 1);
    const store = await openTokenStore({ plugin: name, source, lookupTimeoutMs: 1000 }, quiet, {
      watch: false,
    });
    assert.equal(store.constructor, kind, `${plugin} ${source}`);
    await store.close();
  }
  assert.equal(storeSpec({ plugin: 'native', source: 'redis://h:1/2?prefix=p' }).kind, 'redis');
  assert.equal(storeSpec({ plugin: 'TokenRedis', source: 'h:1' }).kind, 'redis');
});

test('bad specs and sources are ConfigErrors', async (t) => {
  const dir = tempDir(t).dir;
  const file = join(dir, 'file');
  writeFileSync(file, '');
  const bad: Array<[string, string]> = [
    ['native', 'ftp://x'],
    ['native', 'file:'],
    ['native', 'nonsense'],
    ['native', 'https://api.example/no-placeholder'],
    ['TokenFileName', join(dir, 'missing')],
    ['TokenFileName', file],
    ['UnixDomainSocketDirectory', join(dir, 'missing')],
    ['JWTTokenApi', join(dir, 'missing.key')],
    ['JWTTokenApi', file],
    ['TokenFile', join(dir, 'missing')],
    ['NoSuchPlugin', 'x'],
  ];
  for (const [plugin, source] of bad) {
    await assert.rejects(
      openTokenStore({ plugin, source, lookupTimeoutMs: 1000 }, quiet, { watch: false }),
      ConfigError,
      `${plugin} ${source}`,
    );
  }
});
