/**
 * The operations flags are checked at startup: a PROXY protocol listener without trusted proxies, a bad
 * range, a per-token limit without tokens or a limits store that is not Redis stop wstcp with exit code 2
 * and a sentence naming the flag.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from '../../src/cli.js';
import { ConfigError } from '../../src/errors.js';
import { spawnWstcp } from '../helpers/process.js';

const refused = (args: string[], pattern: RegExp) =>
  assert.throws(
    () => parseArgs(args),
    (err: unknown) => err instanceof ConfigError && pattern.test(err.message),
  );

test('bad operations flags are ConfigErrors naming the flag', () => {
  refused(['--proxy-protocol', '6080', 'h:1'], /--proxy-protocol needs --trusted-proxy/);
  refused(['--trusted-proxy', '10.0.0.0/33', '6080', 'h:1'], /--trusted-proxy: .*prefix/);
  refused(['--trusted-proxy', 'proxy.example.com', '6080', 'h:1'], /--trusted-proxy: .*not an IP/);
  refused(
    ['--max-connections-per-token', '2', '6080', 'h:1'],
    /--max-connections-per-token needs a token store/,
  );
  refused(['--limits-store', 'http://x', '6080', 'h:1'], /--limits-store must be a redis/);
  refused(['--metrics', 'nope', '6080', 'h:1'], /--metrics/);
  refused(['--health-path', 'health', '6080', 'h:1'], /--health-path must be a URL path/);
  refused(['--drain-timeout', '-1', '6080', 'h:1'], /--drain-timeout/);
});

test('the operations flags parse into the config', () => {
  const config = parseArgs([
    '--trusted-proxy',
    '10.0.0.0/8,192.168.0.1',
    '--trusted-proxy',
    'fd00::/8',
    '--proxy-protocol',
    '--metrics',
    '9187',
    '--drain-timeout',
    '2.5',
    '--health-path',
    '/lb/',
    '--target-proxy-protocol',
    'v2',
    '6080',
    'h:1',
  ]);
  assert.deepEqual(config.ops, {
    metrics: { kind: 'tcp', host: '127.0.0.1', port: 9187 },
    healthPath: '/lb',
    drainTimeoutMs: 2500,
    proxyProtocol: true,
    trustedProxies: ['10.0.0.0/8', '192.168.0.1', 'fd00::/8'],
    forwardedHeader: 'x-forwarded-for',
    targetProxyProtocol: 'v2',
  });
});

test('wstcp exits 2 with the sentence for a bad operations flag', async () => {
  const wstcp = await spawnWstcp(['--proxy-protocol', '127.0.0.1:0', '127.0.0.1:1']);
  assert.equal(await wstcp.exited, 2);
  assert.match(wstcp.stderr(), /--proxy-protocol needs --trusted-proxy/);
});
