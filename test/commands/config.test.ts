// The command-target flags are validated once, at startup: programs come only from --cmd or --dir, never
// together with a token store, and the flags that need them say so.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from '../../src/cli.js';
import { ConfigError } from '../../src/errors.js';

test('--cmd is split into words; its settings have websocketd defaults', () => {
  const config = parseArgs(['--cmd', "python3 -u 'my script.py'", '8080']);
  assert.deepEqual(config.command?.argv, ['python3', '-u', 'my script.py']);
  assert.equal(config.command?.binary, false);
  assert.equal(config.command?.closeMs, 0);
  assert.equal(config.command?.maxForks, undefined);
  assert.equal(config.command?.passEnv, 'PATH,LD_LIBRARY_PATH');
  assert.equal(config.target, undefined);
});

test('programs never come from a token store, and never beside another target', () => {
  const refused = [
    ['--cmd', 'cat', '--tokens', 'file:/tmp/tokens', '8080'],
    ['--cmd', 'cat', '--token-plugin', 'TokenFile', '--token-source', '/tmp/t', '8080'],
    ['--cmd', 'cat', '8080', 'localhost:5900'],
    ['--cmd', 'cat', '--unix-target', '/tmp/s', '8080'],
    ['--cmd', 'cat', '--dir', '/tmp', '8080'],
  ];
  for (const argv of refused) assert.throws(() => parseArgs(argv), ConfigError, argv.join(' '));
});

test('flags that only make sense with a program say so', () => {
  for (const flag of [
    ['--binary'],
    ['--max-forks', '2'],
    ['--close-ms', '10'],
    ['--dev-console'],
    ['--cgi-dir', '/tmp'],
  ]) {
    assert.throws(() => parseArgs([...flag, '8080', 'localhost:5900']), /needs --cmd or --dir/, flag[0]);
  }
});

test('bad values are refused: an unterminated quote, an empty command, a malformed header', () => {
  assert.throws(() => parseArgs(['--cmd', "echo 'oops", '8080']), /--cmd/);
  assert.throws(() => parseArgs(['--cmd', '  ', '8080']), /--cmd/);
  assert.throws(() => parseArgs(['--cmd', 'cat', '--header', 'Bad Name: x', '8080']), /--header/);
  assert.throws(() => parseArgs(['--cmd', 'cat', '--dev-console', '--web', '/tmp', '8080']), /--dev-console/);
});
