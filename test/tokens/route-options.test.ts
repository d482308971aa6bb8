// A token's subprotocols in every store format (issue 14), and websockify's token lines parsing unchanged.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { AddressError } from '../../src/address.js';
import { targetFromHostPort, targetFromJson } from '../../src/tokens/host-port.js';
import { JwtTokenStore } from '../../src/tokens/jwt-store.js';
import { parseRedisValue } from '../../src/tokens/redis-store.js';
import { parseStoredTarget } from '../../src/tokens/route-options.js';
import { formatTokenLine, parseTokenFile } from '../../src/tokens/token-file-format.js';
import { tempDir } from '../helpers/tmp.js';

test('websockify lines parse as before: no options, unix paths with spaces kept whole', () => {
  const { table, errors } = parseTokenFile(
    'a: 10.0.0.1:5900\nb: unix_socket:/run/my socket\nc: ::1:5902\n',
    'tokens',
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(table.get('a'), { kind: 'tcp', host: '10.0.0.1', port: 5900 });
  assert.deepEqual(table.get('b'), { kind: 'unix', path: '/run/my socket' });
  assert.deepEqual(table.get('c'), { kind: 'tcp', host: '::1', port: 5902 });
});

test('a token line with subprotocol= options, and the line `wstcp tokens set` writes back', () => {
  const { table, errors } = parseTokenFile(
    'm: 127.0.0.1:1883 subprotocol=mqtt,mqttv3.1\nu: unix_socket:/run/b subprotocol=binary  subprotocol=x\n',
    'tokens',
  );
  assert.deepEqual(errors, []);
  const m = table.get('m')!;
  assert.deepEqual(m, { kind: 'tcp', host: '127.0.0.1', port: 1883, subprotocols: ['mqtt', 'mqttv3.1'] });
  assert.deepEqual(table.get('u'), { kind: 'unix', path: '/run/b', subprotocols: ['binary', 'x'] });
  assert.equal(formatTokenLine('m', m), 'm: 127.0.0.1:1883 subprotocol=mqtt,mqttv3.1');
  assert.deepEqual(parseTokenFile(formatTokenLine('m', m), 't').table.get('m'), m);
});

test('a malformed option is a line error, not a silently different target', () => {
  const { errors } = parseTokenFile('m: 127.0.0.1:1883 subprotocol=a;b\nn: h:1 subprotocol=\n', 'tokens');
  assert.equal(errors.length, 2);
  assert.match(errors[0]!, /^tokens:1: /);
  assert.throws(() => parseStoredTarget('127.0.0.1:1883 other=1'), AddressError);
});

test('Redis values and API answers: plain text with options, JSON with "subprotocols"', () => {
  const expected = { kind: 'tcp', host: '127.0.0.1', port: 1883, subprotocols: ['mqtt'] };
  assert.deepEqual(parseRedisValue('127.0.0.1:1883 subprotocol=mqtt'), expected);
  assert.deepEqual(parseRedisValue('{"host":"127.0.0.1","port":1883,"subprotocols":["mqtt"]}'), expected);
  assert.deepEqual(targetFromJson('{"host":"127.0.0.1:1883","subprotocols":"mqtt"}', 'x'), expected);
  assert.deepEqual(targetFromHostPort('127.0.0.1', 1883, ['mqtt']), expected);
  assert.deepEqual(targetFromHostPort('127.0.0.1', 1883), { kind: 'tcp', host: '127.0.0.1', port: 1883 });
  assert.throws(() => targetFromHostPort('127.0.0.1', 1883, [1]), AddressError);
  assert.throws(() => targetFromHostPort('127.0.0.1', 1883, ['a b']), AddressError);
});

test('a JWT with a "subprotocols" claim routes with those subprotocols', async (t) => {
  const secretText = randomBytes(32).toString('base64url');
  const keyFile = tempDir(t).write('secret.key', `${secretText}\n`);
  const store = await JwtTokenStore.open(keyFile);
  const jwt = await new SignJWT({ host: '10.0.0.7', port: 1883, subprotocols: ['mqtt'] })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(Buffer.from(secretText, 'base64url'));
  assert.deepEqual(await store.lookup(jwt), {
    kind: 'tcp',
    host: '10.0.0.7',
    port: 1883,
    subprotocols: ['mqtt'],
  });
});
