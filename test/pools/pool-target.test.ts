// The text forms of a pool (issue 16): the members of `wstcp 6080 a:1,b:2` and of a token's value, with
// nginx-style settings (`weight=3`, `backup`) or the compact ones (`@3`, `@backup`), and the mistakes a
// user can make in them, each refused with a sentence instead of a pool that silently means something else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AddressError } from '../../src/address.js';
import { formatPool, parsePool } from '../../src/targets/pool/pool-target.js';

test('a comma-separated list is a pool of equal members, IPv6 literals bracketed', () => {
  const pool = parsePool('vnc1:5900,vnc2:5900,[fd00::3]:5900');
  assert.deepEqual(pool, {
    kind: 'pool',
    members: [
      { target: { kind: 'tcp', host: 'vnc1', port: 5900 }, weight: 1, backup: false },
      { target: { kind: 'tcp', host: 'vnc2', port: 5900 }, weight: 1, backup: false },
      { target: { kind: 'tcp', host: 'fd00::3', port: 5900 }, weight: 1, backup: false },
    ],
  });
});

test('a single address without settings is not a pool', () => {
  assert.equal(parsePool('vnc1:5900'), undefined);
  assert.equal(parsePool('unix_socket:/run/vnc.sock'), undefined);
});

test('token-file settings: weight=N and backup after the address, spaces around commas', () => {
  const pool = parsePool('vnc1:5900 weight=3, vnc2:5900 , unix_socket:/run/v3 backup');
  assert.deepEqual(
    pool?.members.map((m) => [m.weight, m.backup]),
    [
      [3, false],
      [1, false],
      [1, true],
    ],
  );
  assert.deepEqual(pool?.members[2]?.target, { kind: 'unix', path: '/run/v3' });
});

test('compact settings: @N and @backup, and a single member with a weight is a pool of one', () => {
  const pool = parsePool('vnc1:5900@3,[::1]:5901@2@backup');
  assert.deepEqual(pool?.members[0], {
    target: { kind: 'tcp', host: 'vnc1', port: 5900 },
    weight: 3,
    backup: false,
  });
  assert.deepEqual(pool?.members[1], {
    target: { kind: 'tcp', host: '::1', port: 5901 },
    weight: 2,
    backup: true,
  });
  assert.equal(parsePool('vnc1:5900@2')?.members.length, 1);
});

test('the compact form is what format writes, and it reads back the same pool', () => {
  const text = 'a:1@3,[fd00::3]:5900,unix_socket:/run/x@backup';
  const pool = parsePool(text)!;
  assert.equal(formatPool(pool), text);
  assert.deepEqual(
    parsePool(formatPool(parsePool('a:1 weight=3, [fd00::3]:5900, unix_socket:/run/x backup')!)),
    pool,
  );
});

test('mistakes are refused with an AddressError naming them', () => {
  const cases: [string, RegExp][] = [
    ['a:1,,b:2', /empty member/],
    ['a:1,a:1', /names a:1 twice/],
    ['a:1 weight=0,b:2', /weight "0"/],
    ['a:1 weight=1001,b:2', /weight "1001"/],
    ['a:1 weight=2 weight=3,b:2', /two weights/],
    ['a:1 max_fails=3,b:2', /unknown setting "max_fails=3"/],
    ['a:1 backup,b:2@backup', /every member .* is a backup/],
    ['a:1,b', /not host:port/],
    [Array.from({ length: 65 }, (_, i) => `h:${i + 1}`).join(','), /at most 64/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parsePool(text),
      (err: unknown) => err instanceof AddressError && message.test(err.message),
      text,
    );
  }
});
