// No secret in any log line or error message: every path that handles a password or key password runs
// here with debug logging (text and JSON), including failures, and all output is scanned. The other
// TLS/auth/limits test files scan their own captured logs the same way.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { after, type TestContext, test } from 'node:test';
import { expectRefusal, openClient, startBridge, startEcho, waitFor } from '../helpers/bridge.js';
import { handWritten, rawExchange, statusOf, UPGRADE_HEADERS } from '../helpers/http.js';
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

// A token spelled `/t\TOKEN` was routed by its URL-parsed path (`\` is `/` there) but redacted by a split
// on `/` only, so session.open and handshake.refused logged it in clear; plain GETs of `/t/TOKEN` were
// logged raw by web.request. Every spelling below is routed or served, and all log lines are scanned.
test('tokens spelled with \\, %5C, %2F, doubled slashes, queries or cookies never reach a log line', async (t) => {
  const files = tempDir(t);
  const echo = await startEcho();
  t.after(() => echo.close());
  const tokens = files.write('tokens', `${SECRETS.token}: 127.0.0.1:${echo.port}\n`);
  files.write('index.html', 'viewer\n');
  for (const format of ['text', 'json'] as const) {
    const running = await startBridge([
      '-v',
      '--log-format',
      format,
      '--tokens',
      `file:${tokens}`,
      '--web',
      files.dir,
      '127.0.0.1:0',
    ]);
    t.after(() => running.close());
    const upgrade = (target: string, headers: Record<string, string> = {}) =>
      rawExchange(
        running.port,
        handWritten(`GET ${target} HTTP/1.1`, { Host: 'x', ...UPGRADE_HEADERS, ...headers }),
      );
    const get = (target: string) =>
      rawExchange(running.port, handWritten(`GET ${target} HTTP/1.1`, { Host: 'x', Connection: 'close' }));
    const secret = SECRETS.token;
    const routed = [
      `/t\\${secret}`,
      `/t\\\\${secret}\\`,
      `//t/${secret}`,
      `/t//${secret}/`,
      `/t/${secret}?token=${secret}`,
      `/?token=${secret}`,
    ];
    for (const target of routed) assert.equal(statusOf(await upgrade(target)), 101, `${target} is routed`);
    assert.equal(
      statusOf(await upgrade('/', { Cookie: `token=${secret}` })),
      101,
      'a cookie token is routed',
    );
    // Refused handshakes log their path too.
    assert.equal(statusOf(await upgrade(`/t\\${secret}`, { 'Sec-WebSocket-Version': '7' })), 400);
    assert.equal(statusOf(await upgrade(`/t/x%2F${secret}`)), 404);
    assert.equal(statusOf(await upgrade(`/t%5C${secret}`)), 401);
    assert.equal(statusOf(await upgrade(`/t%ZZ${secret}`)), 401);
    for (const target of [`/t/${secret}`, `/t\\${secret}`, `/t%5C${secret}`, `//t/${secret}`])
      await get(target);
    await waitFor(() => running.logs.filter((l) => l.includes('web.request')).length >= 4);
    assert.ok(running.logs.filter((l) => l.includes('session.open')).length >= routed.length + 1);
    assert.ok(running.logs.some((l) => l.includes('handshake.refused')));
    captured.push(...running.logs);
  }
});
