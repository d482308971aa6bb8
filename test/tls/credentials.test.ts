// Loading --cert/--key/--key-password/--cafile: every accepted layout works, and every broken one stops
// startup with a ConfigError that names the file and never the key password.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TlsConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors.js';
import { readTlsMaterial, secureContextFor } from '../../src/tls/credentials.js';
import { encryptKey, makeCa, selfSigned } from '../helpers/pki.js';
import { SECRETS } from '../helpers/secrets.js';
import { tempDir } from '../helpers/tmp.js';

const base: TlsConfig = {
  cert: '',
  key: undefined,
  keyPassword: undefined,
  sslOnly: false,
  minVersion: 'TLSv1.2',
  ciphers: undefined,
  verifyClient: false,
  cafile: undefined,
};

function load(config: Partial<TlsConfig>) {
  const full = { ...base, ...config };
  return secureContextFor(readTlsMaterial(full), full);
}

function configError(fn: () => unknown, mentions: string[]): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'WSTCP_CONFIG');
    assert.ok(!err.message.includes('\n'), 'one-line message');
    for (const text of mentions)
      assert.ok(err.message.includes(text), `"${err.message}" should mention ${text}`);
    assert.ok(!err.message.includes(SECRETS.keyPassword) && !err.message.includes(SECRETS.wrongPassword));
    return err;
  }
  assert.fail('expected a ConfigError');
}

const leaf = selfSigned();

test('the key may sit in the certificate file, in either order', (t) => {
  const files = tempDir(t);
  assert.ok(load({ cert: files.write('both.pem', leaf.cert + leaf.key) }));
  assert.ok(load({ cert: files.write('key-first.pem', leaf.key + leaf.cert) }));
});

test('a separate --key file and a certificate chain load', (t) => {
  const files = tempDir(t);
  const ca = makeCa();
  const server = ca.server();
  const material = readTlsMaterial({
    ...base,
    cert: files.write('chain.pem', server.cert + ca.cert),
    key: files.write('k.pem', server.key),
  });
  assert.equal((material.certChain.match(/BEGIN CERTIFICATE/g) ?? []).length, 2);
  assert.ok(secureContextFor(material, base));
});

test('an encrypted key loads with --key-password, and is refused without it or with a wrong one', (t) => {
  const files = tempDir(t);
  const cert = files.write('c.pem', leaf.cert);
  const key = files.write('k.pem', encryptKey(leaf.key, SECRETS.keyPassword));
  assert.ok(load({ cert, key, keyPassword: SECRETS.keyPassword }));
  configError(() => load({ cert, key }), [key, '--key-password']);
  configError(() => load({ cert, key, keyPassword: SECRETS.wrongPassword }), [key, 'decrypt']);
  const both = files.write('both.pem', leaf.cert + encryptKey(leaf.key, SECRETS.keyPassword));
  assert.ok(load({ cert: both, keyPassword: SECRETS.keyPassword }));
});

test('unreadable, empty and invalid files are named in one-line errors', (t) => {
  const files = tempDir(t);
  const missing = `${files.dir}/nope.pem`;
  configError(() => load({ cert: missing }), ['--cert', missing, 'ENOENT']);
  configError(() => load({ cert: files.write('empty.pem', 'hello\n') }), ['--cert', 'no PEM certificate']);
  configError(
    () =>
      load({
        cert: files.write('junk.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
      }),
    ['--cert', 'not a valid X.509'],
  );
  configError(() => load({ cert: files.write('nokey.pem', leaf.cert) }), ['holds no private key', '--key']);
  configError(
    () => load({ cert: files.write('c.pem', leaf.cert), key: files.write('k.txt', 'x') }),
    ['--key', 'no PEM private key'],
  );
});

test('a key that does not belong to the certificate, and unknown ciphers, are refused', (t) => {
  const files = tempDir(t);
  const other = selfSigned();
  const cert = files.write('c.pem', leaf.cert);
  const key = files.write('k.pem', other.key);
  configError(() => load({ cert, key }), ['does not belong', key]);
  configError(
    () => load({ cert: files.write('b.pem', leaf.cert + leaf.key), ciphers: 'NO-SUCH-CIPHER' }),
    ['--ssl-ciphers'],
  );
});

test('--cafile must hold certificates', (t) => {
  const files = tempDir(t);
  const cert = files.write('b.pem', leaf.cert + leaf.key);
  const bad = files.write('ca.pem', 'not a bundle');
  configError(() => load({ cert, cafile: bad }), ['--cafile', bad]);
  assert.ok(load({ cert, cafile: files.write('good.pem', makeCa().cert) }));
});

test('--cert auto refuses --key and --key-password, which it has no use for', async () => {
  const { createTlsTerminator } = await import('../../src/tls/terminator.js');
  const { silentLogger } = await import('../../src/observe/log.js');
  configError(
    () => createTlsTerminator({ ...base, cert: 'auto', key: 'k.pem' }, silentLogger),
    ['--key', '--cert auto'],
  );
  configError(
    () => createTlsTerminator({ ...base, cert: 'auto', keyPassword: SECRETS.keyPassword }, silentLogger),
    ['--key-password'],
  );
});
