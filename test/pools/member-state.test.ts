// Passive and active health of one member (issue 16), as nginx's max_fails/fail_timeout: marked down after
// max_fails failures within fail_timeout, for fail_timeout; then given one chance; up again when it connects
// or when a health probe succeeds. Times are given explicitly, so the windows are exact.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemberState } from '../../src/targets/pool/member-state.js';

const policy = { maxFails: 3, failTimeoutMs: 10_000 };

test('max_fails failures within fail_timeout mark the member down for fail_timeout', () => {
  const m = new MemberState('a:1', policy);
  assert.equal(m.failed(0), undefined);
  assert.equal(m.failed(1000), undefined);
  assert.deepEqual(m.failed(2000), { up: false, cause: 'max_fails', fails: 3, forMs: 10_000 });
  assert.equal(m.available(11_999), false);
  assert.equal(m.available(12_000), true);
  assert.equal(m.snapshot(5000).downs, 1);
});

test('failures spread over more than fail_timeout do not add up', () => {
  const m = new MemberState('a:1', policy);
  m.failed(0);
  m.failed(5000);
  assert.equal(m.failed(10_001), undefined, 'the window began at 0 and is over: this is the first failure');
  assert.equal(m.available(10_001), true);
});

test('after fail_timeout one more failure marks it down at once; a connect brings it up', () => {
  const m = new MemberState('a:1', policy);
  for (const at of [0, 1, 2]) m.failed(at);
  assert.equal(m.available(10_002), true);
  assert.deepEqual(m.failed(10_002), { up: false, cause: 'max_fails', fails: 1, forMs: 10_000 });
  assert.equal(m.available(10_003), false);
  assert.deepEqual(m.connected(20_003), { up: true, cause: 'connected' });
  assert.equal(m.failed(20_004), undefined, 'the count starts again after a success');
});

test('max_fails 0 never marks a member down', () => {
  const m = new MemberState('a:1', { maxFails: 0, failTimeoutMs: 10_000 });
  for (let i = 0; i < 100; i++) assert.equal(m.failed(i), undefined);
  assert.equal(m.available(100), true);
  assert.equal(m.snapshot(100).failures, 100);
});

test('probes mark down and up, and a good probe clears a passive down', () => {
  const m = new MemberState('a:1', policy);
  assert.deepEqual(m.probed(false, 0), { up: false, cause: 'health' });
  assert.equal(m.probed(false, 1), undefined, 'already down');
  assert.equal(m.available(100_000), false, 'a failed probe holds until a probe succeeds');
  assert.deepEqual(m.probed(true, 100_000), { up: true, cause: 'health' });
  for (const at of [0, 1, 2].map((x) => x + 200_000)) m.failed(at);
  assert.equal(m.available(200_003), false);
  assert.deepEqual(m.probed(true, 200_004), { up: true, cause: 'health' });
  assert.equal(m.available(200_004), true);
});

test('sessions, live sessions and failures are counted', () => {
  const m = new MemberState('a:1', policy);
  m.connected(0);
  m.connected(1);
  m.ended(2);
  m.failed(3);
  assert.deepEqual(m.snapshot(4), { member: 'a:1', up: true, sessions: 2, active: 1, failures: 1, downs: 0 });
});
