// No secret in any log line or error message: every path that handles a password or key password runs
// here with debug logging (text and JSON), including failures, and all output is scanned. The other
// TLS/auth/limits test files scan their own captured logs the same way.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { after, type TestContext, test } from 'node:test';
import { expectRefusal, openClient, startBridge, startEcho } from '../helpers/bridge.js';
import { encryptKey, selfSigned } from '../helpers/pki.js';
import { assertNoSecrets, basicHeader, SECRETS } from '../helpers/secrets.js';
import { tempDir } from '../helpers/tmp.js';

const captured: string[] = [];
after(() => assertNoSecrets(captured));
const leaf = selfSigned();

async function exercise(t: TestContext, format: 'text' | 'json') {
  const files = tempDir(t);
  const certFile = files.write('cert.pem', leaf.cert + encryptKey(leaf.key, SECRETS.keyPassword));
  const echo = await startEcho();
  t.after(() => echo.close());
  const running = await startBridge(
    [
      '-v',
      '--traffic',
      '--log-format',
      format,
      '--cert',
      certFile,
      '--key-password',
      SECRETS.keyPassword,
      '--auth-plugin',
      'BasicHTTPAuth',
      '--auth-source',
      `vnc:${SECRETS.pluginPassword}`,
      '127.0.0.1:0',
      `127.0.0.1:${echo.port}`,
    ],
    { secure: true },
  );
  t.after(() => running.close());
  const tls = { rejectUnauthorized: false };
  for (const password of [SECRETS.wrongPassword, SECRETS.basicPassword, SECRETS.htpasswdPassword]) {
    const refusal = await expectRefusal(running.url, {
      ...tls,
      headers: { Authorization: basicHeader('vnc', password) },
    });
    assert.equal(refusal.status, 401);
    captured.push(refusal.body, JSON.stringify(refusal.headers));
  }
  const ws = await openClient(running.url, undefined, {
    ...tls,
    headers: { Authorization: basicHeader('vnc', SECRETS.pluginPassword) },
  });
  ws.send(Buffer.from('traffic'));
  ws.terminate();

  // A reload that fails because the key now needs another password must not print either password.
  writeFileSync(certFile, leaf.cert + encryptKey(leaf.key, SECRETS.wrongPassword));
  return running;
}

test('handshakes with right and wrong passwords log no secret (text and JSON, debug + traffic)', async (t) => {
  for (const format of ['text', 'json'] as const) {
    const running = await exercise(t, format);
    await new Promise((resolve) => setTimeout(resolve, 800));
    captured.push(...running.logs);
    assert.ok(running.logs.some((l) => l.includes('WSTCP_UNAUTHORIZED')));
    assert.ok(
      running.logs.some((l) => l.includes('tls.reload_failed')),
      'the failed reload was logged',
    );
  }
});

test('startup errors for wrong key passwords and bad credentials name no secret', (t) => {
  const files = tempDir(t);
  const cert = files.write('cert.pem', leaf.cert + encryptKey(leaf.key, SECRETS.keyPassword));
  const users = files.write('users', `viewer:${SECRETS.htpasswdPassword}\n`);
  const runs = [
    ['--cert', cert, '--key-password', SECRETS.wrongPassword, '6080', '127.0.0.1:5900'],
    ['--basic-auth', SECRETS.basicPassword, '6080', '127.0.0.1:5900'],
    ['--basic-auth', users, '6080', '127.0.0.1:5900'],
    ['--auth-plugin', 'BasicHTTPAuth', '--auth-source', SECRETS.pluginPassword, '6080', '127.0.0.1:5900'],
  ];
  for (const args of runs) {
    const run = spawnSync(process.execPath, ['bin/wstcp', ...args], { encoding: 'utf8', timeout: 10000 });
    assert.notEqual(run.status, 0, `wstcp ${args[0]} should refuse to start`);
    assert.match(run.stderr, /^wstcp: /);
    captured.push(run.stderr, run.stdout);
  }
});

test('the scan itself catches a leaked password and a leaked Authorization value', () => {
  assert.throws(() => assertNoSecrets([`key_password=${SECRETS.keyPassword}`]));
  assert.throws(() => assertNoSecrets([`authorization="${basicHeader('vnc', SECRETS.pluginPassword)}"`]));
});
