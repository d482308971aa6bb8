// TokenFile: websockify's format, directories of files, hot reload that survives a bad edit, startup errors.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { Logger } from '../../src/observe/log.js';
import { TokenFileStore } from '../../src/tokens/file-store.js';
import { parseTokenFile } from '../../src/tokens/token-file-format.js';
import { tempDir } from '../helpers/tmp.js';

const quiet = new Logger({ sink: () => {} });

test('websockify lines: comments, blanks, IPv6, unix sockets, last duplicate wins', () => {
  const text = [
    '# desktops',
    '',
    'alpha: 10.0.0.1:5900',
    '  beta:\t desk-b.internal:5901  ',
    'six: ::1:5902',
    'bracketed: [fd00::2]:5903',
    'sock: unix_socket:/run/vnc/alice',
    'alpha: 10.0.0.9:5909',
    'with:colon: h:1',
  ].join('\n');
  const { table, errors } = parseTokenFile(text, 'tokens');
  assert.deepEqual(errors, []);
  assert.deepEqual(table.get('alpha'), { kind: 'tcp', host: '10.0.0.9', port: 5909 });
  assert.deepEqual(table.get('beta'), { kind: 'tcp', host: 'desk-b.internal', port: 5901 });
  assert.deepEqual(table.get('six'), { kind: 'tcp', host: '::1', port: 5902 });
  assert.deepEqual(table.get('bracketed'), { kind: 'tcp', host: 'fd00::2', port: 5903 });
  assert.deepEqual(table.get('sock'), { kind: 'unix', path: '/run/vnc/alice' });
  assert.deepEqual(table.get('with:colon'), { kind: 'tcp', host: 'h', port: 1 });
});

test('bad lines are reported as file:line', () => {
  const { errors } = parseTokenFile('ok: h:1\nnocolon h:2\nbadport: h:99999\nx: h: 5\n', 'conf');
  assert.equal(errors.length, 3);
  assert.match(errors[0]!, /^conf:2: /);
  assert.match(errors[1]!, /^conf:3: /);
  assert.match(errors[2]!, /^conf:4: /);
});

test('a bad token file at startup is a ConfigError naming file:line', async (t) => {
  const file = join(tempDir(t).dir, 'tokens');
  writeFileSync(file, 'a: h:1\n\nb h:2\n');
  await assert.rejects(TokenFileStore.open({ source: file, log: quiet, watch: false }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.ok(err.message.startsWith(`${file}:3: `), err.message);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
  await assert.rejects(TokenFileStore.open({ source: join(file, 'missing'), log: quiet }), ConfigError);
});

test('a directory of token files; hidden and backup files are skipped', async (t) => {
  const dir = tempDir(t).dir;
  writeFileSync(join(dir, 'a.conf'), 'one: h1:1\n');
  writeFileSync(join(dir, 'b.conf'), 'two: h2:2\n');
  writeFileSync(join(dir, '.b.conf.swp'), 'garbage that would not parse\n');
  writeFileSync(join(dir, 'b.conf~'), 'garbage\n');
  mkdirSync(join(dir, 'sub'));
  const store = await TokenFileStore.open({ source: dir, log: quiet, watch: false });
  t.after(() => store.close());
  assert.deepEqual(await store.lookup('one'), { kind: 'tcp', host: 'h1', port: 1 });
  assert.deepEqual(await store.lookup('two'), { kind: 'tcp', host: 'h2', port: 2 });
  assert.equal(await store.lookup('three'), undefined);
});

/** Waits for the next reload attempt the store reports. */
function nextReload(reloads: Array<readonly string[]>, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 5000;
    const poll = () => {
      if (reloads.length >= count) return resolve();
      if (Date.now() > deadline) return reject(new Error('no reload within 5 s'));
      setTimeout(poll, 10);
    };
    poll();
  });
}

test('hot reload: a good edit is picked up, a bad edit keeps the previous table and logs file:line', async (t) => {
  const file = join(tempDir(t).dir, 'tokens');
  writeFileSync(file, 'a: h:1\n');
  const lines: string[] = [];
  const reloads: Array<readonly string[]> = [];
  const store = await TokenFileStore.open({
    source: file,
    log: new Logger({ sink: (l) => lines.push(l) }),
    debounceMs: 20,
    onReload: (errors) => reloads.push(errors),
  });
  t.after(() => store.close());

  writeFileSync(file, 'a: h:1\nb: h:2\n');
  await nextReload(reloads, 1);
  assert.deepEqual(reloads[0], []);
  assert.deepEqual(await store.lookup('b'), { kind: 'tcp', host: 'h', port: 2 });

  writeFileSync(file, 'a: h:1\nb: h:2\nc h:3\n');
  await nextReload(reloads, 2);
  assert.equal(reloads[1]!.length, 1);
  assert.ok(reloads[1]![0]!.startsWith(`${file}:3: `));
  assert.deepEqual(await store.lookup('b'), { kind: 'tcp', host: 'h', port: 2 }, 'previous table kept');
  assert.ok(lines.some((l) => l.includes('tokens.reload_failed') && l.includes(`${file}:3:`)));

  // Editors replace the file (write a new one, rename it over): the watch must survive that.
  writeFileSync(`${file}.new`, 'c: h:3\n');
  renameSync(`${file}.new`, file);
  const deadline = Date.now() + 5000;
  while ((await store.lookup('c')) === undefined && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(await store.lookup('c'), { kind: 'tcp', host: 'h', port: 3 });
  assert.equal(await store.lookup('a'), undefined);
});

test('a file that reads empty for a moment (truncated, then written) does not drop every token', async (t) => {
  const file = join(tempDir(t).dir, 'tokens');
  writeFileSync(file, 'a: h:1\n');
  const lines: string[] = [];
  const reloads: Array<readonly string[]> = [];
  const store = await TokenFileStore.open({
    source: file,
    log: new Logger({ level: 'debug', sink: (l) => lines.push(l) }),
    debounceMs: 300,
    onReload: (errors) => reloads.push(errors),
  });
  t.after(() => store.close());
  writeFileSync(file, '');
  const deadline = Date.now() + 5000;
  while (!lines.some((l) => l.includes('tokens.reload_empty')) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.deepEqual(
    await store.lookup('a'),
    { kind: 'tcp', host: 'h', port: 1 },
    'still served after one empty read',
  );
  writeFileSync(file, 'b: h:2\n');
  await nextReload(reloads, 1);
  assert.deepEqual(await store.lookup('b'), { kind: 'tcp', host: 'h', port: 2 });

  writeFileSync(file, '# every token removed on purpose\n');
  await nextReload(reloads, 2);
  assert.equal(await store.lookup('b'), undefined, 'an empty table that stays empty is taken');
});

test('set and remove rewrite the file, keeping comments and other lines', async (t) => {
  const file = join(tempDir(t).dir, 'tokens');
  writeFileSync(file, '# keep me\na: h:1\nb: h:2\na: h:9\n');
  const store = await TokenFileStore.open({ source: file, log: quiet, watch: false });
  t.after(() => store.close());
  await store.set('a', { kind: 'tcp', host: '::1', port: 5900 });
  await store.set('c', { kind: 'unix', path: '/run/c' });
  assert.equal(readFileSync(file, 'utf8'), '# keep me\na: ::1:5900\nb: h:2\nc: unix_socket:/run/c\n');
  assert.equal(await store.remove('b'), true);
  assert.equal(await store.remove('b'), false);
  assert.equal(readFileSync(file, 'utf8'), '# keep me\na: ::1:5900\nc: unix_socket:/run/c\n');
  assert.deepEqual(
    (await store.list()).map((e) => e.token),
    ['a', 'c'],
  );
});
