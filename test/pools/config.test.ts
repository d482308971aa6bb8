// The pool flags (issue 16): a pool as the command line's target, --balance, --max-fails, --fail-timeout
// and --health-interval read into the config, and the combinations that cannot work refused at start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from '../../src/cli.js';
import { ConfigError } from '../../src/errors.js';

test('a comma-separated target is a pool, and the pool flags reach the config', () => {
  const config = parseArgs([
    '6080',
    'vnc1:5900,vnc2:5900@2,[fd00::3]:5900@backup',
    '--balance',
    'least-conn',
    '--max-fails',
    '3',
    '--fail-timeout',
    '2.5',
    '--health-interval',
    '1',
  ]);
  assert.equal(config.target?.kind, 'pool');
  assert.deepEqual(config.pools, {
    method: 'least-conn',
    maxFails: 3,
    failTimeoutMs: 2500,
    healthIntervalMs: 1000,
  });
});

test("defaults are nginx's: round-robin, max_fails 1, fail_timeout 10 s; no active checks", () => {
  assert.deepEqual(parseArgs(['6080', 'a:1,b:2']).pools, {
    method: 'round-robin',
    maxFails: 1,
    failTimeoutMs: 10_000,
    healthIntervalMs: 0,
  });
});

test('bad pool flags are refused with a ConfigError', () => {
  const bad = [
    ['6080', 'a:1,b:2', '--balance', 'hash-token'],
    ['6080', 'a:1,b:2', '--balance', 'fastest'],
    ['6080', 'a:1,b:2', '--max-fails', '1.5'],
    ['6080', 'a:1,b:2', '--fail-timeout', '0'],
    ['6080', 'a:1,a:1'],
  ];
  for (const args of bad) assert.throws(() => parseArgs(args), ConfigError, args.join(' '));
});
