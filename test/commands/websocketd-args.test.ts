// `wstcp websocketd ...` takes websocketd's exact command line: Go flag spellings, its defaults and its
// refusals; unsupported flags are one error naming them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { originMatches, parseOriginPattern } from '../../src/auth/origin.js';
import { ConfigError } from '../../src/errors.js';
import { originPatterns, translateWebsocketd } from '../../src/targets/command/websocketd-args.js';
import { splitWords } from '../../src/targets/command/words.js';

function args(argv: string[]): readonly string[] {
  const result = translateWebsocketd(argv);
  assert.equal(result.kind, 'run');
  return result.kind === 'run' ? result.args : [];
}

test('the two forms from websocketd --help: a directory, and a command with its arguments', () => {
  assert.deepEqual(args(['--port=8080', '--dir=/scripts']), ['--dir', '/scripts', '8080']);
  const run = args(['--port=8080', '--binary', './stream.sh', '--rate', '10', 'a b']);
  assert.deepEqual(run, ['--cmd', "./stream.sh --rate 10 'a b'", '--binary', '8080']);
  // The command's own flags are not websocketd's: parsing stopped at ./stream.sh.
  assert.deepEqual(splitWords(run[1]!), ['./stream.sh', '--rate', '10', 'a b']);
});

test('every Go spelling of a flag means the same', () => {
  const expected = ['--cmd', 'cat', '--close-ms', '300', '127.0.0.1:9000'];
  for (const argv of [
    ['--port=9000', '--address=127.0.0.1', '--closems=300', 'cat'],
    ['--port', '9000', '--address', '127.0.0.1', '--closems', '300', 'cat'],
    ['-port=9000', '-address', '127.0.0.1', '-closems=300', 'cat'],
    ['-port', '9000', '--address=127.0.0.1', '-closems', '300', '--', 'cat'],
  ]) {
    assert.deepEqual(args(argv), expected, argv.join(' '));
  }
});

test('booleans take =false, and a later flag overrides an earlier one', () => {
  assert.deepEqual(args(['--binary', '--binary=false', '--port=1', '--port=2', 'cat']), [
    '--cmd',
    'cat',
    '2',
  ]);
  assert.deepEqual(args(['--binary=true', 'cat']), ['--cmd', 'cat', '--binary', '80']);
});

test("websocketd's defaults: port 80, or 443 with --ssl (which serves only TLS)", () => {
  assert.deepEqual(args(['cat']), ['--cmd', 'cat', '80']);
  assert.deepEqual(args(['--ssl', '--sslcert=c.pem', '--sslkey=k.pem', 'cat']), [
    '--cmd',
    'cat',
    '--cert',
    'c.pem',
    '--key',
    'k.pem',
    '--ssl-only',
    '443',
  ]);
});

test('every supported flag maps to its wstcp flag', () => {
  assert.deepEqual(
    args([
      '--port=8080',
      '--dir=/s',
      '--devconsole',
      '--maxforks=5',
      '--passenv=PATH,HOME',
      '--reverselookup',
      '--sameorigin',
      '--origin=example.org,https://app.example.org:8443',
      '--header=X-A: 1',
      '--header-ws=X-B: 2',
      '--header-http=X-C: 3',
      '--loglevel=debug',
    ]),
    [
      '--dir',
      '/s',
      '--dev-console',
      '--reverse-lookup',
      '--max-forks',
      '5',
      '--pass-env',
      'PATH,HOME',
      '--same-origin',
      '--origin',
      'http://example.org:*',
      '--origin',
      'https://example.org:*',
      '--origin',
      'https://app.example.org:8443',
      '--header',
      'X-A: 1',
      '--header-ws',
      'X-B: 2',
      '--header-http',
      'X-C: 3',
      '--verbose',
      '8080',
    ],
  );
  assert.deepEqual(args(['--staticdir=/www', '--cgidir=/cgi', '--dir=/s']), [
    '--dir',
    '/s',
    '--web',
    '/www',
    '--cgi-dir',
    '/cgi',
    '80',
  ]);
});

test("websocketd's --origin without a port means any port, without a scheme any scheme", () => {
  const [http, https] = originPatterns('example.org').map(parseOriginPattern);
  assert.equal(originMatches(http!, 'http://example.org:1234'), true);
  assert.equal(originMatches(https!, 'https://example.org'), true);
  assert.equal(originMatches(http!, 'http://evil.org:1234'), false);
  const [exact] = originPatterns('https://example.org:8443').map(parseOriginPattern);
  assert.equal(originMatches(exact!, 'https://example.org:8443'), true);
  assert.equal(originMatches(exact!, 'https://example.org:8444'), false);
  assert.equal(originMatches(exact!, 'http://example.org:8443'), false);
});

test('unsupported flags are one error naming each of them', () => {
  assert.throws(
    () => translateWebsocketd(['--redirport=80', '--passstderr', '--port=8080', 'cat']),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /--redirport/);
      assert.match(err.message, /--passstderr/);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    },
  );
});

test('what websocketd refuses, wstcp refuses: unknown flags, missing values, bad numbers, ambiguity', () => {
  const refused: string[][] = [
    ['--nosuchflag', 'cat'],
    ['--port'],
    ['--port=eighty', 'cat'],
    ['--closems=-1', 'cat'],
    ['--binary=maybe', 'cat'],
    ['---port=1', 'cat'],
    ['--dir=/s', 'cat'],
    [],
    ['--port=8080'],
    ['--ssl', 'cat'],
    ['--sslcert=c.pem', 'cat'],
    ['--devconsole', '--staticdir=/www', 'cat'],
    ['--loglevel=loud', 'cat'],
    ['--address=127.0.0.1', '--address=::1', 'cat'],
  ];
  for (const argv of refused) assert.throws(() => translateWebsocketd(argv), ConfigError, argv.join(' '));
});

test('--help and -h ask for help; --version is wstcp --version', () => {
  assert.deepEqual(translateWebsocketd(['--help']), { kind: 'help' });
  assert.deepEqual(translateWebsocketd(['-h', 'cat']), { kind: 'help' });
  assert.deepEqual(args(['--version']), ['--version']);
});
