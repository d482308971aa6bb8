// The balancing methods (issue 16, --balance), on their own: the order and shares each gives, exactly where
// the method is deterministic (round-robin as nginx, least-conn, first, hash) and within a tolerance where it
// is random.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BalanceMethod, type Candidate, PoolBalancer } from '../../src/targets/pool/balance.js';

function candidates(weights: number[], active: number[] = []): Candidate[] {
  return weights.map((weight, index) => ({ index, weight, name: `m${index}:1`, active: active[index] ?? 0 }));
}

function picks(method: BalanceMethod, weights: number[], n: number, key?: (i: number) => string): number[] {
  const balancer = new PoolBalancer(weights.length);
  const all = candidates(weights);
  return Array.from({ length: n }, (_, i) => balancer.pick(method, all, key?.(i)).index);
}

function counts(indexes: number[], size: number): number[] {
  const out = new Array<number>(size).fill(0);
  for (const i of indexes) out[i]!++;
  return out;
}

test('round-robin is smooth and weighted as nginx: weights 5,1,1 give a a b a c a a', () => {
  assert.deepEqual(picks('round-robin', [5, 1, 1], 7), [0, 0, 1, 0, 2, 0, 0]);
  assert.deepEqual(picks('round-robin', [1, 1, 1], 6), [0, 1, 2, 0, 1, 2]);
  assert.deepEqual(counts(picks('round-robin', [3, 2, 1], 600), 3), [300, 200, 100]);
});

test('least-conn takes the fewest sessions per weight, ties in round-robin', () => {
  const balancer = new PoolBalancer(3);
  assert.equal(balancer.pick('least-conn', candidates([1, 1, 1], [2, 0, 1]), undefined).index, 1);
  // 4 sessions on weight 4 is fewer per weight than 2 on weight 1.
  assert.equal(balancer.pick('least-conn', candidates([4, 1, 1], [4, 2, 3]), undefined).index, 0);
  const tied = candidates([1, 1, 1], [1, 0, 0]);
  assert.deepEqual(
    [0, 1, 2, 3].map(() => balancer.pick('least-conn', tied, undefined).index),
    [1, 2, 1, 2],
  );
});

test('first always takes the earliest member offered', () => {
  const balancer = new PoolBalancer(3);
  assert.equal(balancer.pick('first', candidates([1, 5, 1]), undefined).index, 0);
  assert.equal(balancer.pick('first', candidates([1, 5, 1]).slice(1), undefined).index, 1);
});

test('random follows the weights within a tolerance', () => {
  const shares = counts(picks('random', [2, 1, 1], 8000), 3).map((c) => c / 8000);
  assert.ok(Math.abs(shares[0]! - 0.5) < 0.04, `${shares}`);
  assert.ok(Math.abs(shares[1]! - 0.25) < 0.04, `${shares}`);
});

test('hash: a key always goes to the same member, keys spread by weight, a removed member moves only its keys', () => {
  const key = (i: number) => `192.0.2.${i % 250}/${Math.floor(i / 250)}`;
  const first = picks('hash-client', [2, 1, 1], 4000, key);
  assert.deepEqual(picks('hash-client', [2, 1, 1], 4000, key), first, 'same keys, same members');
  const shares = counts(first, 3).map((c) => c / 4000);
  assert.ok(Math.abs(shares[0]! - 0.5) < 0.05 && Math.abs(shares[1]! - 0.25) < 0.05, `${shares}`);
  const balancer = new PoolBalancer(3);
  const withoutMember1 = candidates([2, 1, 1]).filter((c) => c.index !== 1);
  for (let i = 0; i < 4000; i++) {
    const now = balancer.pick('hash-token', withoutMember1, key(i)).index;
    if (first[i] !== 1) assert.equal(now, first[i], `key ${key(i)} moved although its member stayed`);
  }
});

test('hash without a key (no token) falls back to round-robin', () => {
  assert.deepEqual(picks('hash-token', [1, 1], 4), [0, 1, 0, 1]);
});
