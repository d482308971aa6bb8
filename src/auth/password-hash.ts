/**
 * Password hashes accepted in --basic-auth htpasswd files, checked in constant time:
 *
 *   $6$salt$...  $5$salt$...        SHA-crypt (`openssl passwd -6`, `mkpasswd -m sha-512`)   recommended
 *   $apr1$salt$...  $1$salt$...     MD5-crypt (`htpasswd -m`, the htpasswd default; `openssl passwd -apr1`)
 *   {SHA}base64                     unsalted SHA-1 (`htpasswd -s`): accepted for old files, weak
 *   $scrypt$ln=15,r=8,p=1$SALT$HASH wstcp's own: scrypt, N = 2^ln, SALT and HASH base64
 *   $pbkdf2-sha256$ITERATIONS$SALT$HASH  wstcp's own: PBKDF2-HMAC-SHA256, SALT and HASH base64
 *
 * bcrypt (`$2y$`, `htpasswd -B`) needs a native module and is refused with a message saying how to re-hash.
 */
import { createHash, pbkdf2Sync, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { md5Crypt, shaCrypt } from './crypt.js';

/** A parsed hash: `verify` recomputes it from a candidate password and compares in constant time. */
export interface PasswordHash {
  readonly scheme: string;
  verify(password: Buffer): boolean;
}

/** Why a hash string is not usable; the message never contains the hash itself. */
export class HashFormatError extends Error {}

/** Equal-length digests of both sides, so neither the length nor the content leaks through timing. */
export function constantTimeEqual(a: Buffer | string, b: Buffer | string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

function base64Field(text: string | undefined, what: string): Buffer {
  if (!text || !B64.test(text)) throw new HashFormatError(`its ${what} is not base64`);
  return Buffer.from(text, 'base64');
}

function scryptHash(hash: string): PasswordHash {
  const [, , params, saltText, hashText] = hash.split('$');
  const match = /^ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})$/.exec(params ?? '');
  if (!match) throw new HashFormatError('its scrypt parameters are not ln=N,r=N,p=N');
  const [ln, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (ln < 10 || ln > 20 || r < 1 || p < 1)
    throw new HashFormatError('its scrypt parameters are out of range (ln 10-20)');
  const salt = base64Field(saltText, 'salt');
  const expected = base64Field(hashText, 'hash');
  const N = 2 ** ln;
  return {
    scheme: 'scrypt',
    verify: (password) =>
      timingSafeEqual(
        scryptSync(password, salt, expected.length, { N, r, p, maxmem: 256 * N * r }),
        expected,
      ),
  };
}

function pbkdf2Hash(hash: string): PasswordHash {
  const [, , iterationsText, saltText, hashText] = hash.split('$');
  const iterations = Number(iterationsText);
  if (!Number.isInteger(iterations) || iterations < 10_000 || iterations > 10_000_000) {
    throw new HashFormatError('its PBKDF2 iteration count is not 10000-10000000');
  }
  const salt = base64Field(saltText, 'salt');
  const expected = base64Field(hashText, 'hash');
  return {
    scheme: 'pbkdf2-sha256',
    verify: (password) =>
      timingSafeEqual(pbkdf2Sync(password, salt, iterations, expected.length, 'sha256'), expected),
  };
}

/** A crypt(3)-style hash: recompute with the stored settings, compare the whole strings. */
function cryptHash(scheme: string, hash: string, compute: (password: Buffer) => string): PasswordHash {
  return { scheme, verify: (password) => constantTimeEqual(compute(password), hash) };
}

/** Parses one stored hash; throws HashFormatError for unsupported or malformed ones. */
export function parsePasswordHash(hash: string): PasswordHash {
  if (hash.startsWith('$6$') || hash.startsWith('$5$')) {
    const prefix = hash.slice(0, 3) as '$5$' | '$6$';
    if (!/^\$[56]\$(rounds=\d+\$)?[^$]{1,16}\$[./0-9A-Za-z]+$/.test(hash))
      throw new HashFormatError('it is a malformed SHA-crypt hash');
    return cryptHash(prefix === '$6$' ? 'sha512-crypt' : 'sha256-crypt', hash, (pw) =>
      shaCrypt(pw, prefix, hash.slice(3)),
    );
  }
  if (hash.startsWith('$apr1$') || hash.startsWith('$1$')) {
    const magic = hash.startsWith('$1$') ? '$1$' : '$apr1$';
    const rest = hash.slice(magic.length);
    if (!/^[^$]{1,8}\$[./0-9A-Za-z]{22}$/.test(rest))
      throw new HashFormatError('it is a malformed MD5-crypt hash');
    return cryptHash(magic === '$1$' ? 'md5-crypt' : 'apr1', hash, (pw) => md5Crypt(pw, magic, rest));
  }
  if (hash.startsWith('{SHA}')) {
    const expected = base64Field(hash.slice(5), 'digest');
    if (expected.length !== 20) throw new HashFormatError('its {SHA} digest is not 20 bytes');
    return {
      scheme: 'sha1',
      verify: (pw) => timingSafeEqual(createHash('sha1').update(pw).digest(), expected),
    };
  }
  if (hash.startsWith('$scrypt$')) return scryptHash(hash);
  if (hash.startsWith('$pbkdf2-sha256$')) return pbkdf2Hash(hash);
  if (/^\$2[abxy]?\$/.test(hash)) {
    throw new HashFormatError(
      'bcrypt hashes are not supported; re-hash with `openssl passwd -6` or `htpasswd -m`',
    );
  }
  throw new HashFormatError(
    'it is not a supported hash ($6$, $5$, $apr1$, $1$, {SHA}, $scrypt$, $pbkdf2-sha256$); plain-text passwords are refused',
  );
}

/**
 * Hashes a password in wstcp's scrypt format (ln=15, r=8, p=1, 16-byte salt, 32-byte hash).
 *
 * @example
 * hashPassword('correct horse') // '$scrypt$ln=15,r=8,p=1$3q2+7w...$J8b...'
 */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const N = 2 ** 15;
  const hash = scryptSync(password, salt, 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 });
  return `$scrypt$ln=15,r=8,p=1$${salt.toString('base64')}$${hash.toString('base64')}`;
}
