// TokenRedis against a real redis-server: websockify's source format and both value formats, namespaces,
// db, passwords, and a Redis restart mid-run (503 at once while down, service resumes by itself).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { Logger } from '../../src/observe/log.js';
import { parseRedisUrl, parseWebsockifyRedisSource } from '../../src/tokens/redis-source.js';
import { RedisTokenStore } from '../../src/tokens/redis-store.js';
import { StoreUnavailableError } from '../../src/tokens/store.js';
import { selfSigned } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { requireProgram } from '../helpers/programs.js';
import { tempDir } from '../helpers/tmp.js';
import { startRedis } from '../helpers/tokens.js';

const quiet = new Logger({ sink: () => {} });

test('websockify source format: defaults, empty fields, quoted fields', () => {
  assert.deepEqual(parseWebsockifyRedisSource('redis.internal'), {
    host: 'redis.internal',
    port: 6379,
    db: 0,
    username: undefined,
    password: undefined,
    namespace: undefined,
    tls: false,
    ca: undefined,
  });
  const full = parseWebsockifyRedisSource('"::1":6380:2:"pa:ss":desktops');
  assert.equal(full.host, '::1');
  assert.equal(full.port, 6380);
  assert.equal(full.db, 2);
  assert.equal(full.password, 'pa:ss');
  assert.equal(full.namespace, 'desktops');
  const sparse = parseWebsockifyRedisSource('h::::ns');
  assert.equal(sparse.port, 6379);
  assert.equal(sparse.password, undefined);
  assert.equal(sparse.namespace, 'ns');
  assert.throws(() => parseWebsockifyRedisSource('h:notaport'), ConfigError);
  assert.throws(
    () => parseWebsockifyRedisSource('h:1:0:"secret'),
    (err: Error) => !err.message.includes('secret'),
  );
  assert.throws(() => parseWebsockifyRedisSource('a:1:2:3:4:5'), ConfigError);
});

test('redis:// URLs', () => {
  const url = parseRedisUrl('rediss://user:p%40ss@[::1]:6380/3?prefix=desk');
  assert.deepEqual(url, {
    host: '::1',
    port: 6380,
    db: 3,
    username: 'user',
    password: 'p@ss',
    namespace: 'desk',
    tls: true,
    ca: undefined,
  });
  assert.equal(parseRedisUrl('rediss://h/0?ca=/etc/ca.pem').ca, '/etc/ca.pem');
  assert.throws(() => parseRedisUrl('redis://h/0?ca=/etc/ca.pem'), ConfigError);
  assert.equal(parseRedisUrl('redis://h').port, 6379);
  assert.throws(() => parseRedisUrl('redis://h/0?namespace=x'), ConfigError);
  assert.throws(() => parseRedisUrl('redis://h/db'), ConfigError);
});

test('both value formats, namespace, db and password against a real Redis', async (t) => {
  const program = requireProgram(t, 'redis-server');
  if (!program) return;
  const redis = await startRedis(t, program, { password: 'pw:with:colons' });
  await redis.cli('-n', '2', 'SET', 'desk:json', '{"host": "10.0.0.1:5900"}');
  await redis.cli('-n', '2', 'SET', 'desk:plain', '  10.0.0.2:5901\n');
  await redis.cli('-n', '2', 'SET', 'desk:hostport', '{"host": "10.0.0.3", "port": 5902}');
  await redis.cli('-n', '2', 'SET', 'desk:bad', 'not a target');
  await redis.cli('-n', '2', 'SET', 'plain', '10.9.9.9:1');

  const location = parseWebsockifyRedisSource(`127.0.0.1:${redis.port}:2:"pw:with:colons":desk`);
  const store = await RedisTokenStore.open({ location, log: quiet, timeoutMs: 2000 });
  t.after(() => store.close());
  assert.deepEqual(await store.lookup('json'), { kind: 'tcp', host: '10.0.0.1', port: 5900 });
  assert.deepEqual(await store.lookup('plain'), { kind: 'tcp', host: '10.0.0.2', port: 5901 });
  assert.deepEqual(await store.lookup('hostport'), { kind: 'tcp', host: '10.0.0.3', port: 5902 });
  assert.equal(await store.lookup('missing'), undefined);
  await assert.rejects(store.lookup('bad'), StoreUnavailableError);

  // The same server through a URL, without namespace: keys are the bare token.
  const byUrl = await RedisTokenStore.open({
    location: parseRedisUrl(`redis://:${encodeURIComponent('pw:with:colons')}@127.0.0.1:${redis.port}/2`),
    log: quiet,
    timeoutMs: 2000,
  });
  t.after(() => byUrl.close());
  assert.deepEqual(await byUrl.lookup('plain'), { kind: 'tcp', host: '10.9.9.9', port: 1 });
  assert.deepEqual(await byUrl.lookup('desk:json'), { kind: 'tcp', host: '10.0.0.1', port: 5900 });

  // A wrong password: the store cannot answer, which is 503, not "unknown token".
  const wrong = await RedisTokenStore.open({
    location: parseWebsockifyRedisSource(`127.0.0.1:${redis.port}:2:wrong:desk`),
    log: quiet,
    timeoutMs: 500,
  });
  t.after(() => wrong.close());
  await assert.rejects(wrong.lookup('json'), StoreUnavailableError);
});

test('set/get/remove/list write websockify-readable JSON under the namespace', async (t) => {
  const program = requireProgram(t, 'redis-server');
  if (!program) return;
  const redis = await startRedis(t, program);
  await redis.cli('SET', 'other', '1.1.1.1:1');
  const store = await RedisTokenStore.open({
    location: parseRedisUrl(`redis://127.0.0.1:${redis.port}/0?prefix=ns`),
    log: quiet,
    timeoutMs: 2000,
  });
  t.after(() => store.close());
  await store.set('a', { kind: 'tcp', host: '10.0.0.1', port: 5900 });
  await store.set('b', { kind: 'tcp', host: '::1', port: 5901 });
  assert.equal(await redis.cli('GET', 'ns:a'), '{"host":"10.0.0.1:5900"}');
  assert.deepEqual(
    (await store.list()).map((e) => e.token),
    ['a', 'b'],
  );
  assert.equal(await store.remove('a'), true);
  assert.equal(await store.remove('a'), false);
  assert.equal(await redis.cli('EXISTS', 'ns:a'), '0');
});

test('Redis restart mid-run: lookups fail fast with 503 while down, then resume by themselves', async (t) => {
  const program = requireProgram(t, 'redis-server');
  if (!program) return;
  const redis = await startRedis(t, program);
  await redis.cli('SET', 'tok', '127.0.0.1:5900');
  const lines: string[] = [];
  const store = await RedisTokenStore.open({
    location: parseWebsockifyRedisSource(`127.0.0.1:${redis.port}`),
    log: new Logger({ sink: (l) => lines.push(l) }),
    timeoutMs: 3000,
  });
  t.after(() => store.close());
  assert.deepEqual(await store.lookup('tok'), { kind: 'tcp', host: '127.0.0.1', port: 5900 });

  await redis.stop();
  const deadline = Date.now() + 3000;
  while (store.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const started = Date.now();
  await assert.rejects(store.lookup('tok'), StoreUnavailableError);
  assert.ok(Date.now() - started < 500, 'a lookup while Redis is down fails at once');

  await redis.start();
  await redis.cli('SET', 'tok', '127.0.0.1:5901');
  let target: unknown;
  const resumeBy = Date.now() + 5000;
  while (Date.now() < resumeBy) {
    try {
      target = await store.lookup('tok');
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  assert.deepEqual(target, { kind: 'tcp', host: '127.0.0.1', port: 5901 });
  assert.equal(lines.filter((l) => l.includes('tokens.redis_down')).length, 1, 'one outage, one warning');
});

test('rediss:// against a real Redis serving TLS, verified with ?ca=', async (t) => {
  const program = requireProgram(t, 'redis-server');
  if (!program) return;
  const files = tempDir(t);
  const issued = selfSigned(['127.0.0.1']);
  const cert = files.write('cert.pem', issued.cert);
  const key = files.write('key.pem', issued.key);
  const redis = await startRedis(t, program, { tls: { cert, key } });
  const store = await RedisTokenStore.open({
    location: parseRedisUrl(`rediss://127.0.0.1:${redis.port}/0?prefix=tls&ca=${encodeURIComponent(cert)}`),
    log: quiet,
    timeoutMs: 2000,
  });
  t.after(() => store.close());
  assert.ok(store.connected);
  await store.set('a', { kind: 'tcp', host: '10.0.0.1', port: 5900 });
  assert.deepEqual(await store.lookup('a'), { kind: 'tcp', host: '10.0.0.1', port: 5900 });

  // Without the CA the server's certificate is not trusted: the store stays unavailable.
  const untrusted = await RedisTokenStore.open({
    location: parseRedisUrl(`rediss://127.0.0.1:${redis.port}/0?prefix=tls`),
    log: quiet,
    timeoutMs: 500,
  });
  t.after(() => untrusted.close());
  await assert.rejects(untrusted.lookup('a'), StoreUnavailableError);
});

test('a Redis that is down at startup is not fatal: 503 until it comes up', async (t) => {
  const program = requireProgram(t, 'redis-server');
  if (!program) return;
  const port = await freePort();
  const store = await RedisTokenStore.open({
    location: parseWebsockifyRedisSource(`127.0.0.1:${port}`),
    log: quiet,
    timeoutMs: 200,
  });
  t.after(() => store.close());
  await assert.rejects(store.lookup('x'), StoreUnavailableError);
  assert.equal(store.connected, false);

  const redis = await startRedis(t, program, { port });
  await redis.cli('SET', 'x', '{"host":"127.0.0.1:5900"}');
  const deadline = Date.now() + 5000;
  while (!store.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(await store.lookup('x'), { kind: 'tcp', host: '127.0.0.1', port: 5900 });
});
