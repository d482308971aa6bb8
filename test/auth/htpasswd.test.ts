// htpasswd files for --basic-auth: comments and mixed hash formats load; bad lines stop startup naming
// file:line (never the hash or a password); unknown users fail like wrong passwords.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { basicAuthCredentials, parseBasicAuthorization, singleCredential } from '../../src/auth/basic.js';
import { loadHtpasswd } from '../../src/auth/htpasswd.js';
import { ConfigError } from '../../src/errors.js';
import { SECRETS } from '../helpers/secrets.js';
import { tempDir } from '../helpers/tmp.js';

const FILE = `# users of the bridge
alice:$apr1$xyz12345$JwpRdm0uPiRHTYTDc8L.n.

bob:$6$saltstring$NQs6Xiu97b66QI6.eoAwItXYYcFN0GbkFU5e1yWWOwaiUa5XtqLU7kSWUHbl0qceS4MhbXOSK0ClyQjXq62SO1
carol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=
`;

test('an htpasswd file with comments and several formats checks each user', (t) => {
  const files = tempDir(t);
  const check = loadHtpasswd(files.write('users', FILE));
  assert.equal(check.check('alice', Buffer.from('pässword!')), true);
  assert.equal(check.check('bob', Buffer.from('pässword!')), true);
  assert.equal(check.check('carol', Buffer.from('password')), true);
  assert.equal(check.check('alice', Buffer.from('password')), false);
  assert.equal(check.check('mallory', Buffer.from('pässword!')), false);
});

test('bad lines and files are ConfigErrors naming file:line, without the hash', (t) => {
  const files = tempDir(t);
  const cases: [string, RegExp][] = [
    [
      'alice:$apr1$xyz12345$JwpRdm0uPiRHTYTDc8L.n.\nbob:$2y$05$abcdefghijklmnopqrstuuO2wTvsBBt3VCqlRx2xbY.CEpN7fE1oK\n',
      /:2: user "bob": bcrypt/,
    ],
    [`dave:${SECRETS.htpasswdPassword}\n`, /:1: user "dave": .*plain-text/],
    ['no colon here\n', /:1: expected user:hash/],
    ['# only comments\n', /no user:hash lines/],
  ];
  for (const [index, [text, expected]] of cases.entries()) {
    const path = files.write(`f${index}`, text);
    assert.throws(
      () => loadHtpasswd(path),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, expected);
        assert.ok(err.message.includes(path));
        assert.ok(!err.message.includes(SECRETS.htpasswdPassword) && !err.message.includes('$2y$'));
        return true;
      },
    );
  }
  assert.throws(() => loadHtpasswd(`${files.dir}/missing`), /cannot read the file \(ENOENT\)/);
});

test('--basic-auth takes user:password or an existing file, and never echoes the value', (t) => {
  const files = tempDir(t);
  assert.equal(
    basicAuthCredentials(files.write('users', FILE)).check('carol', Buffer.from('password')),
    true,
  );
  const single = basicAuthCredentials(`admin:${SECRETS.basicPassword}`);
  assert.equal(single.check('admin', Buffer.from(SECRETS.basicPassword)), true);
  assert.equal(single.check('admin', Buffer.from(SECRETS.wrongPassword)), false);
  assert.equal(single.check('root', Buffer.from(SECRETS.basicPassword)), false);
  assert.throws(
    () => basicAuthCredentials(SECRETS.basicPassword),
    (err: Error) => err instanceof ConfigError && !err.message.includes(SECRETS.basicPassword),
  );
});

test('Authorization headers parse to bytes; malformed ones are told apart from missing ones', () => {
  const header = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;
  const parsed = parseBasicAuthorization(header('ünï:pa:ss'));
  assert.equal(parsed.kind, 'present');
  if (parsed.kind === 'present') {
    assert.equal(parsed.user, 'ünï');
    assert.equal(parsed.password.toString(), 'pa:ss');
  }
  assert.equal(parseBasicAuthorization(undefined).kind, 'missing');
  assert.equal(parseBasicAuthorization('Bearer abc').kind, 'malformed');
  assert.equal(parseBasicAuthorization('Basic !!!').kind, 'malformed');
  assert.equal(parseBasicAuthorization(header('nocolon')).kind, 'malformed');
  assert.equal(singleCredential('u:').check('u', Buffer.alloc(0)), true);
});
