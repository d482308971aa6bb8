// JWTTokenApi with real keys and tokens: HS/RS/ES signatures, JWE-wrapped JWS, exp and nbf (401),
// forgeries and unsigned tokens (unknown), and a token minted by websockify's own library (jwcrypto).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { CompactEncrypt, SignJWT, UnsecuredJWT } from 'jose';
import { ConfigError, HttpError } from '../../src/errors.js';
import { JwtTokenStore } from '../../src/tokens/jwt-store.js';
import { requireProgram } from '../helpers/programs.js';
import { tempDir } from '../helpers/tmp.js';

const claims = { host: '10.0.0.7', port: 5900 };
const now = () => Math.floor(Date.now() / 1000);

test('HS256 with a websockify-style symmetric key file; exp and nbf give 401 TOKEN_EXPIRED', async (t) => {
  const dir = tempDir(t).dir;
  const secretText = randomBytes(32).toString('base64url');
  const keyFile = join(dir, 'secret.key');
  writeFileSync(keyFile, `${secretText}\n`);
  const secret = Buffer.from(secretText, 'base64url');
  const store = await JwtTokenStore.open(keyFile);

  const good = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(secret);
  assert.deepEqual(await store.lookup(good), { kind: 'tcp', host: '10.0.0.7', port: 5900 });

  const hs512 = await new SignJWT({ host: 'h', port: '5901' })
    .setProtectedHeader({ alg: 'HS512' })
    .sign(secret);
  assert.deepEqual(await store.lookup(hs512), { kind: 'tcp', host: 'h', port: 5901 });

  const expired = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(now() - 10)
    .sign(secret);
  await assert.rejects(store.lookup(expired), (err: unknown) => {
    assert.ok(err instanceof HttpError);
    assert.equal(err.code, 'WSTCP_TOKEN_EXPIRED');
    assert.equal(err.status, 401);
    return true;
  });
  const early = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setNotBefore(now() + 3600)
    .sign(secret);
  await assert.rejects(store.lookup(early), (err: unknown) => err instanceof HttpError && err.status === 401);

  const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(randomBytes(32));
  assert.equal(await store.lookup(forged), undefined);
  assert.equal(await store.lookup(new UnsecuredJWT(claims).encode()), undefined, 'alg none is refused');
  assert.equal(await store.lookup('not.a.jwt'), undefined);
  assert.equal(await store.lookup('plain-token'), undefined);
  const noHost = await new SignJWT({ port: 1 }).setProtectedHeader({ alg: 'HS256' }).sign(secret);
  assert.equal(await store.lookup(noHost), undefined);

  // JWE (dir, A256GCM) wrapping a JWS signed with the same key, as websockify accepts.
  const jwe = await new CompactEncrypt(new TextEncoder().encode(good))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .encrypt(secret);
  assert.deepEqual(await store.lookup(jwe), { kind: 'tcp', host: '10.0.0.7', port: 5900 });
  // A JWE whose content is the claims themselves, unsigned: refused.
  const unsigned = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .encrypt(secret);
  assert.equal(await store.lookup(unsigned), undefined);
});

test('RS256 and ES256 with PEM keys; a private RSA key also decrypts RSA-OAEP JWEs', async (t) => {
  const dir = tempDir(t).dir;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsaPublic = join(dir, 'rsa.pub.pem');
  const rsaPrivate = join(dir, 'rsa.pem');
  const ecPublic = join(dir, 'ec.pub.pem');
  writeFileSync(rsaPublic, rsa.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(rsaPrivate, rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(ecPublic, ec.publicKey.export({ type: 'spki', format: 'pem' }));

  const rs = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey);
  const es = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).sign(ec.privateKey);
  const byRsaPublic = await JwtTokenStore.open(rsaPublic);
  const byEc = await JwtTokenStore.open(ecPublic);
  assert.deepEqual(await byRsaPublic.lookup(rs), { kind: 'tcp', host: '10.0.0.7', port: 5900 });
  assert.equal(await byRsaPublic.lookup(es), undefined);
  assert.deepEqual(await byEc.lookup(es), { kind: 'tcp', host: '10.0.0.7', port: 5900 });
  assert.equal(await byEc.lookup(rs), undefined);

  // Key confusion: an HS256 token "signed" with the public key's PEM text must not verify.
  const confused = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string));
  assert.equal(await byRsaPublic.lookup(confused), undefined);

  const jwe = await new CompactEncrypt(new TextEncoder().encode(rs))
    .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM' })
    .encrypt(rsa.publicKey);
  const byRsaPrivate = await JwtTokenStore.open(rsaPrivate);
  assert.deepEqual(await byRsaPrivate.lookup(jwe), { kind: 'tcp', host: '10.0.0.7', port: 5900 });
  assert.deepEqual(await byRsaPrivate.lookup(rs), { kind: 'tcp', host: '10.0.0.7', port: 5900 });
  assert.equal(await byRsaPublic.lookup(jwe), undefined, 'a public key cannot decrypt');

  await assert.rejects(JwtTokenStore.open(join(dir, 'missing.pem')), ConfigError);
});

test('a token minted by jwcrypto (websockify) verifies with the same key file', async (t) => {
  const python = requireProgram(t, '/usr/bin/python3', 'python3-jwcrypto');
  if (!python) return;
  const dir = tempDir(t).dir;
  const keyFile = join(dir, 'symmetric.key');
  writeFileSync(keyFile, 'secret_sauce_secret_sauce_secret_sauce_secret_sauce');
  const script = [
    'import sys',
    'from jwcrypto import jwk, jwt',
    'k = jwk.JWK(); k.import_key(k=open(sys.argv[1]).read(), kty="oct")',
    't = jwt.JWT(header={"alg": "HS256"}, claims={"host": "10.1.2.3", "port": 5909})',
    't.make_signed_token(k)',
    'print(t.serialize())',
  ].join('\n');
  let token: string;
  try {
    token = (await promisify(execFile)(python, ['-c', script, keyFile])).stdout.trim();
  } catch (err) {
    if (process.env.CI === 'true') throw err;
    t.skip(`python3-jwcrypto is not installed: ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  const store = await JwtTokenStore.open(keyFile);
  assert.deepEqual(await store.lookup(token), { kind: 'tcp', host: '10.1.2.3', port: 5909 });
});
