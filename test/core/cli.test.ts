// The command line: websockify's positional forms, and bad input answered with one line naming the flag.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from '../../src/cli.js';
import { ConfigError } from '../../src/errors.js';
import { spawnWstcp } from '../helpers/process.js';

test('websockify positional forms', () => {
  const plain = parseArgs(['6080', 'localhost:5900']);
  assert.deepEqual(plain.listen, { kind: 'tcp', host: undefined, port: 6080 });
  assert.deepEqual(plain.target, { kind: 'tcp', host: 'localhost', port: 5900 });

  const hosts = parseArgs(['127.0.0.1:6080', '[::1]:5900']);
  assert.deepEqual(hosts.listen, { kind: 'tcp', host: '127.0.0.1', port: 6080 });
  assert.deepEqual(hosts.target, { kind: 'tcp', host: '::1', port: 5900 });

  const v6listen = parseArgs(['[::]:6080', 'vnc:5900']);
  assert.deepEqual(v6listen.listen, { kind: 'tcp', host: '::', port: 6080 });

  const unix = parseArgs(['--unix-target', '/run/vnc.sock', '6080']);
  assert.deepEqual(unix.target, { kind: 'unix', path: '/run/vnc.sock' });

  const unixListen = parseArgs(['--unix-listen', '/run/wstcp.sock', 'localhost:5900']);
  assert.deepEqual(unixListen.listen, { kind: 'unix', path: '/run/wstcp.sock' });
  assert.equal(unixListen.unixListenMode, 0o600);

  const tokens = parseArgs(['--token-plugin', 'TokenFile', '--token-source', 'tokens.conf', '6080']);
  assert.equal(tokens.target, undefined);
  assert.equal(tokens.tokens?.plugin, 'TokenFile');
  const dotted = parseArgs([
    '--token-plugin',
    'websockify.token_plugins.TokenFile',
    '--token-source',
    'f',
    '6080',
  ]);
  assert.equal(dotted.tokens?.plugin, 'TokenFile');
  const legacy = parseArgs(['--target-config', 'tokens.conf', '6080']);
  assert.deepEqual([legacy.tokens?.plugin, legacy.tokens?.source], ['TokenFile', 'tokens.conf']);

  const lifecycle = parseArgs(['--heartbeat', '30', '--run-once', '--connect-timeout', '2.5', '6080', 'h:1']);
  assert.equal(lifecycle.heartbeatMs, 30000);
  assert.equal(lifecycle.runOnce, true);
  assert.equal(lifecycle.connectTimeoutMs, 2500);
  assert.equal(parseArgs(['6080', 'h:1']).connectTimeoutMs, 10000);
});

test('bad arguments throw a ConfigError naming the flag or argument', () => {
  const cases: [string[], RegExp][] = [
    [['6080'], /missing target/],
    [[], /missing listen port/],
    [['6080', 'host:70000'], /target: .*70000/],
    [['6080', 'justahost'], /target: .*not host:port/],
    [['notaport', 'h:1'], /listen address/],
    [['--heartbeat', 'soon', '6080', 'h:1'], /--heartbeat/],
    [['--connect-timeout', '0', '6080', 'h:1'], /--connect-timeout/],
    [['--token-plugin', 'TokenFile', '--token-source', 'f', '6080', 'h:1'], /cannot be combined/],
    [['--token-plugin', 'Nope', '--token-source', 'f', '6080'], /unknown plugin "Nope"/],
    [['--ssl-only', '6080', 'h:1'], /--ssl-only needs --cert/],
    [['--bogus-flag', '6080', 'h:1'], /unknown option --bogus-flag/],
    [['--wrap-mode', 'exit', '6080', 'h:1'], /--wrap-mode .*not supported/],
    [['6080', 'h:1', 'extra'], /unexpected extra arguments: extra/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseArgs(argv),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
      argv.join(' '),
    );
  }
});

test('the process answers bad flags with one line and exit code 2, a busy port with exit code 1', async () => {
  const bad = await spawnWstcp(['--heartbeat', 'x', '6080', 'h:1']);
  assert.equal(await bad.exited, 2);
  assert.match(bad.stderr(), /^wstcp: --heartbeat needs a number/);

  const first = await spawnWstcp(['127.0.0.1:0', '127.0.0.1:1']);
  try {
    const second = await spawnWstcp([`127.0.0.1:${first.port}`, '127.0.0.1:1']);
    assert.equal(await second.exited, 1);
    assert.match(second.stderr(), /cannot listen on 127\.0\.0\.1:\d+: the address is in use/);
  } finally {
    first.kill('SIGKILL');
  }
});

test('--help shows examples and --version the package version', async () => {
  const help = await spawnWstcp(['--help']);
  assert.equal(await help.exited, 0);
  assert.match(help.stdout(), /Examples:/);
  assert.match(help.stdout(), /wstcp 6080 localhost:5900/);
  assert.match(help.stdout(), /--token-plugin/);
  const version = await spawnWstcp(['--version']);
  assert.equal(await version.exited, 0);
  assert.match(version.stdout(), /^\d+\.\d+\.\d+/);
});
