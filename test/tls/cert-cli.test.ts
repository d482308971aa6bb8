// `wstcp cert`: the written certificate and key serve wss:// that a client trusting only that certificate
// accepts for every requested name and address; the key is private, files are not overwritten silently,
// and the trust commands name the written file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { runCertCommand } from '../../src/tls/cert-cli.js';
import { openClient, startBridge, startEcho } from '../helpers/bridge.js';
import { tlsConnect } from '../helpers/tls-client.js';
import { tempDir } from '../helpers/tmp.js';

function generate(t: TestContext, names: string[]) {
  const files = tempDir(t);
  const cert = join(files.dir, 'c.pem');
  const key = join(files.dir, 'k.pem');
  const printed: string[] = [];
  const result = runCertCommand(['--cert', cert, '--key', key, '--days', '30', ...names], (text) =>
    printed.push(text),
  );
  return { files, cert, key, result, output: printed.join('\n') };
}

test('the certificate covers the given names and addresses, and a client trusting it connects', async (t) => {
  const made = generate(t, ['localhost', '127.0.0.1', '::1', 'desk.example.lan']);
  assert.equal(statSync(made.key).mode & 0o777, 0o600);
  const x509 = new X509Certificate(readFileSync(made.cert));
  assert.ok(x509.checkHost('desk.example.lan'));
  assert.ok(x509.checkIP('::1'));
  assert.equal(x509.ca, false);
  assert.equal(made.result?.fingerprint256, x509.fingerprint256);

  const echo = await startEcho();
  const running = await startBridge(
    ['--cert', made.cert, '--key', made.key, '127.0.0.1:0', `127.0.0.1:${echo.port}`],
    {
      secure: true,
    },
  );
  t.after(async () => {
    await running.close();
    await echo.close();
  });
  const trusted = readFileSync(made.cert, 'utf8');
  const byIp = await tlsConnect(running.port, { ca: trusted, servername: undefined });
  assert.equal(byIp.authorized, true);
  byIp.destroy();
  const byName = await tlsConnect(running.port, { ca: trusted, servername: 'desk.example.lan' });
  assert.equal(byName.authorized, true);
  byName.destroy();
  await assert.rejects(tlsConnect(running.port, { ca: trusted, servername: 'other.example' }));
  const ws = await openClient(running.url, undefined, { ca: trusted });
  ws.terminate();
});

test('the output names the files and gives the trust commands for each platform', (t) => {
  const made = generate(t, ['192.168.1.20']);
  for (const text of [
    'update-ca-certificates',
    'security add-trusted-cert',
    'certutil -d sql:',
    'Firefox',
    made.cert,
  ]) {
    assert.ok(made.output.includes(text), `output mentions ${text}`);
  }
  assert.ok(made.output.includes(`--cert ${made.cert} --key ${made.key}`));
});

test('existing files are kept unless --force, and bad arguments are ConfigErrors', (t) => {
  const files = tempDir(t);
  const cert = files.write('c.pem', 'mine');
  const key = join(files.dir, 'k.pem');
  assert.throws(() => runCertCommand(['--cert', cert, '--key', key], () => {}), ConfigError);
  writeFileSync(key, 'old key', { mode: 0o644 });
  assert.throws(() => runCertCommand(['--cert', cert, '--key', key], () => {}), /exists; pass --force/);
  assert.equal(readFileSync(cert, 'utf8'), 'mine');
  runCertCommand(['--cert', cert, '--key', key, '--force'], () => {});
  assert.equal(statSync(key).mode & 0o777, 0o600, 'an overwritten key becomes private');
  assert.throws(() => runCertCommand(['not a host!'], () => {}), /neither a host name nor an IP/);
  assert.throws(() => runCertCommand(['--days', '0'], () => {}), /--days/);
  assert.throws(() => runCertCommand(['--bogus'], () => {}), ConfigError);
});

test('`wstcp cert --help` through the real binary prints the usage and exits 0', () => {
  const run = spawnSync(process.execPath, ['bin/wstcp', 'cert', '--help'], { encoding: 'utf8' });
  assert.equal(run.status, 0);
  assert.match(run.stdout, /Usage: wstcp cert/);
});
