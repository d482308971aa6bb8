// Password hashes for htpasswd files: known vectors (from `openssl passwd` and the SHA-crypt spec), our
// own scrypt/PBKDF2 formats, refusals of bcrypt/plain text, and a live cross-check against openssl.
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { HashFormatError, hashPassword, parsePasswordHash } from '../../src/auth/password-hash.js';
import { requireProgram } from '../helpers/programs.js';

const PASSWORD = Buffer.from('pässword!');

const VECTORS: [string, Buffer, string][] = [
  ['md5-crypt', PASSWORD, '$1$abcdefgh$Z6boabiuslpn7JLCvcW3c0'],
  ['apr1', PASSWORD, '$apr1$xyz12345$JwpRdm0uPiRHTYTDc8L.n.'],
  ['sha256-crypt', PASSWORD, '$5$saltstring$Ov/esahVzU4NXszJoctwQDWC3sCfR1.hSZs2MlfS1f8'],
  ['sha256-crypt', PASSWORD, '$5$rounds=1000$short$B8uBE5B42JUD84bF3Sh.2JerOYk2giZJglUJAe7qcw1'],
  ['sha256-crypt', Buffer.from('Hello world!'), '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5'],
  [
    'sha512-crypt',
    PASSWORD,
    '$6$saltstring$NQs6Xiu97b66QI6.eoAwItXYYcFN0GbkFU5e1yWWOwaiUa5XtqLU7kSWUHbl0qceS4MhbXOSK0ClyQjXq62SO1',
  ],
  ['sha1', Buffer.from('password'), '{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g='],
];

test('known hashes verify their password and refuse others', () => {
  for (const [scheme, password, hash] of VECTORS) {
    const parsed = parsePasswordHash(hash);
    assert.equal(parsed.scheme, scheme);
    assert.equal(parsed.verify(password), true, hash);
    assert.equal(parsed.verify(Buffer.from('wrong')), false, hash);
    assert.equal(parsed.verify(Buffer.alloc(0)), false, hash);
  }
});

test("wstcp's scrypt format round-trips and PBKDF2 hashes verify", () => {
  const hash = hashPassword('correct horse');
  assert.match(hash, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.equal(parsePasswordHash(hash).verify(Buffer.from('correct horse')), true);
  assert.equal(parsePasswordHash(hash).verify(Buffer.from('correct horsf')), false);
  assert.notEqual(hashPassword('correct horse'), hash, 'salted');

  const salt = randomBytes(16);
  const digest = pbkdf2Sync('battery staple', salt, 100_000, 32, 'sha256');
  const pbkdf2 = `$pbkdf2-sha256$100000$${salt.toString('base64')}$${digest.toString('base64')}`;
  assert.equal(parsePasswordHash(pbkdf2).verify(Buffer.from('battery staple')), true);
  assert.equal(parsePasswordHash(pbkdf2).verify(Buffer.from('battery stapler')), false);
});

test('bcrypt, plain text and malformed hashes are refused with a reason', () => {
  assert.throws(
    () => parsePasswordHash('$2y$05$abcdefghijklmnopqrstuuO2wTvsBBt3VCqlRx2xbY.CEpN7fE1oK'),
    /bcrypt/,
  );
  assert.throws(() => parsePasswordHash('hunter2'), /plain-text passwords are refused/);
  assert.throws(() => parsePasswordHash('$6$salt'), HashFormatError);
  assert.throws(() => parsePasswordHash('$apr1$salt$short'), HashFormatError);
  assert.throws(() => parsePasswordHash('$scrypt$ln=40,r=8,p=1$AAAA$AAAA'), /out of range/);
  assert.throws(() => parsePasswordHash('$pbkdf2-sha256$10$AAAA$AAAA'), /iteration/);
  assert.throws(() => parsePasswordHash('{SHA}short'), HashFormatError);
});

test('hashes made by openssl passwd now, with random salts and passwords, verify', (t) => {
  const openssl = requireProgram(t, 'openssl');
  if (!openssl) return;
  for (const flag of ['-1', '-apr1', '-5', '-6']) {
    for (let i = 0; i < 3; i++) {
      const password = randomBytes(5 + i * 9).toString('base64');
      const made: SpawnSyncReturns<string> = spawnSync(openssl, ['passwd', flag, '-stdin'], {
        input: `${password}\n`,
        encoding: 'utf8',
      });
      assert.equal(made.status, 0, made.stderr);
      const hash = made.stdout.trim();
      assert.equal(parsePasswordHash(hash).verify(Buffer.from(password)), true, `${flag} ${hash}`);
      assert.equal(parsePasswordHash(hash).verify(Buffer.from(`${password}x`)), false);
    }
  }
});
