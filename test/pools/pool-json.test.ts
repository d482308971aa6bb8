// Pools in the JSON forms of the token stores (issue 16): an API answer or a Redis value
// `{"targets": ...}` and a JWT's `targets` claim, as a pool's text or as a list of members; and the
// plain-text stores (file, directory, plain Redis values) reading a pool where a target was.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AddressError } from '../../src/address.js';
import { targetFromFields, targetFromJson } from '../../src/tokens/host-port.js';
import { parseRedisValue } from '../../src/tokens/redis-store.js';
import { parseTokenFile } from '../../src/tokens/token-file-format.js';

const twoMembers = {
  kind: 'pool',
  members: [
    { target: { kind: 'tcp', host: 'a', port: 1 }, weight: 3, backup: false },
    { target: { kind: 'tcp', host: 'b', port: 2 }, weight: 1, backup: true },
  ],
};

test('"targets" as a pool text, a list of member texts, or a list of objects: the same pool', () => {
  assert.deepEqual(targetFromJson('{"targets": "a:1@3,b:2@backup"}', 'not JSON'), twoMembers);
  assert.deepEqual(targetFromJson('{"targets": ["a:1 weight=3", "b:2 backup"]}', 'not JSON'), twoMembers);
  assert.deepEqual(
    targetFromFields({
      targets: [
        { host: 'a', port: 1, weight: 3 },
        { host: 'b:2', backup: true },
      ],
    }),
    twoMembers,
  );
});

test('token files, plain Redis values and JSON {"host": ...} read a pool where a target was', () => {
  assert.deepEqual(
    parseTokenFile('desk: a:1 weight=3, b:2 backup\n', 'tokens').table.get('desk'),
    twoMembers,
  );
  assert.deepEqual(parseRedisValue('a:1@3,b:2@backup'), twoMembers);
  assert.deepEqual(parseRedisValue('{"host": "a:1@3,b:2@backup"}'), twoMembers);
});

test('malformed "targets" are refused, never half read', () => {
  const bad: unknown[] = [
    42,
    [],
    [{ host: 'a', port: 1, weight: 0 }],
    [{ host: 'a', port: 1, backup: 'yes' }],
    [{ host: 'a:1,b:2' }],
    ['a:1', 'a:1'],
  ];
  for (const targets of bad) {
    assert.throws(() => targetFromFields({ targets }), AddressError, JSON.stringify(targets));
  }
});
