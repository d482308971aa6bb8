/**
 * The crypt(3) password hashes htpasswd files and `openssl passwd` produce, computed with node:crypto:
 * MD5-crypt (`$1$`, Apache's `$apr1$`) and SHA-crypt (`$5$` SHA-256, `$6$` SHA-512, Drepper's spec).
 * bcrypt (`$2y$`) would need a native package and is refused when a file is loaded instead.
 */
import { createHash } from 'node:crypto';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** crypt's base-64: `count` characters from the low 6 bits of `value` upwards. */
function to64(value: number, count: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < count; i++) {
    out += ITOA64[v & 0x3f];
    v >>>= 6;
  }
  return out;
}

/** Encodes `digest` in groups of three byte indices (most significant first), as each crypt variant orders them. */
function encodeGroups(
  digest: Buffer,
  groups: readonly (readonly [number, number, number, number])[],
): string {
  let out = '';
  for (const [a, b, c, count] of groups) {
    const byte = (i: number) => (i < 0 ? 0 : digest[i]!);
    out += to64((byte(a) << 16) | (byte(b) << 8) | byte(c), count);
  }
  return out;
}

const MD5_GROUPS = [
  [0, 6, 12, 4],
  [1, 7, 13, 4],
  [2, 8, 14, 4],
  [3, 9, 15, 4],
  [4, 10, 5, 4],
  [-1, -1, 11, 2],
] as const;

/**
 * MD5-crypt of `password` with `magic` (`$1$` or `$apr1$`) and `salt` (at most 8 characters used).
 * Returns the full `$magic$salt$hash` string.
 */
export function md5Crypt(password: Buffer, magic: '$1$' | '$apr1$', saltText: string): string {
  const salt = Buffer.from(saltText.split('$')[0]!.slice(0, 8), 'utf8');
  const alternate = createHash('md5').update(password).update(salt).update(password).digest();
  const ctx = createHash('md5').update(password).update(magic).update(salt);
  for (let left = password.length; left > 0; left -= 16)
    ctx.update(alternate.subarray(0, Math.min(left, 16)));
  for (let bits = password.length; bits > 0; bits >>>= 1) {
    ctx.update(bits & 1 ? Buffer.alloc(1) : password.subarray(0, 1));
  }
  let digest = ctx.digest();
  for (let round = 0; round < 1000; round++) {
    const step = createHash('md5');
    step.update(round & 1 ? password : digest);
    if (round % 3) step.update(salt);
    if (round % 7) step.update(password);
    step.update(round & 1 ? digest : password);
    digest = step.digest();
  }
  return `${magic}${salt.toString('utf8')}$${encodeGroups(digest, MD5_GROUPS)}`;
}

const SHA256_GROUPS = [
  [0, 10, 20, 4],
  [21, 1, 11, 4],
  [12, 22, 2, 4],
  [3, 13, 23, 4],
  [24, 4, 14, 4],
  [15, 25, 5, 4],
  [6, 16, 26, 4],
  [27, 7, 17, 4],
  [18, 28, 8, 4],
  [9, 19, 29, 4],
  [-1, 31, 30, 3],
] as const;

/** SHA-512's 21 groups follow one rotation: (i, i+21, i+42) with the leading index moving each step. */
const SHA512_GROUPS: readonly (readonly [number, number, number, number])[] = [
  ...Array.from({ length: 21 }, (_, i): [number, number, number, number] => {
    const a = i;
    const b = i + 21;
    const c = i + 42;
    const order: [number, number, number][] = [
      [a, b, c],
      [b, c, a],
      [c, a, b],
    ];
    const [x, y, z] = order[i % 3]!;
    return [x, y, z, 4];
  }),
  [-1, -1, 63, 2],
];

const SHA_ROUNDS_DEFAULT = 5000;
const SHA_ROUNDS_MIN = 1000;
const SHA_ROUNDS_MAX = 999_999_999;

/** Repeats `block` to exactly `length` bytes. */
function stretch(block: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let offset = 0; offset < length; offset += block.length)
    block.copy(out, offset, 0, Math.min(block.length, length - offset));
  return out;
}

/**
 * SHA-crypt (`$5$` or `$6$`) of `password` with `settings`: the part after the prefix, `[rounds=N$]salt`.
 * Returns the full hash string.
 */
export function shaCrypt(password: Buffer, prefix: '$5$' | '$6$', settings: string): string {
  const algorithm = prefix === '$5$' ? 'sha256' : 'sha512';
  const size = prefix === '$5$' ? 32 : 64;
  let rest = settings;
  let rounds = SHA_ROUNDS_DEFAULT;
  let roundsText = '';
  const custom = /^rounds=(\d+)\$/.exec(rest);
  if (custom) {
    rounds = Math.min(SHA_ROUNDS_MAX, Math.max(SHA_ROUNDS_MIN, Number(custom[1])));
    roundsText = `rounds=${rounds}$`;
    rest = rest.slice(custom[0].length);
  }
  const salt = Buffer.from(rest.split('$')[0]!.slice(0, 16), 'utf8');
  const hash = () => createHash(algorithm);

  const alternate = hash().update(password).update(salt).update(password).digest();
  const ctx = hash().update(password).update(salt);
  let left = password.length;
  for (; left > size; left -= size) ctx.update(alternate);
  ctx.update(alternate.subarray(0, left));
  for (let bits = password.length; bits > 0; bits >>>= 1) ctx.update(bits & 1 ? alternate : password);
  let digest = ctx.digest();

  const passwordHash = hash();
  for (let i = 0; i < password.length; i++) passwordHash.update(password);
  const p = stretch(passwordHash.digest(), password.length);
  const saltHash = hash();
  for (let i = 0; i < 16 + digest[0]!; i++) saltHash.update(salt);
  const s = stretch(saltHash.digest(), salt.length);

  for (let round = 0; round < rounds; round++) {
    const step = hash();
    step.update(round & 1 ? p : digest);
    if (round % 3) step.update(s);
    if (round % 7) step.update(p);
    step.update(round & 1 ? digest : p);
    digest = step.digest();
  }
  const groups = prefix === '$5$' ? SHA256_GROUPS : SHA512_GROUPS;
  return `${prefix}${roundsText}${salt.toString('utf8')}$${encodeGroups(digest, groups)}`;
}
