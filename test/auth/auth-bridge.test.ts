// Every auth option through a real bridge: accepted with the right credentials/origin, refused with its
// status code and headers otherwise; configured checks compose (each must pass); --web-auth guards files.
import assert from 'node:assert/strict';
import { after, type TestContext, test } from 'node:test';
import { expectRefusal, openClient, type RunningBridge, startBridge, startEcho } from '../helpers/bridge.js';
import { fetchRaw } from '../helpers/http.js';
import { assertNoSecrets, basicHeader, SECRETS } from '../helpers/secrets.js';
import { tempDir } from '../helpers/tmp.js';

const logs: string[][] = [];
after(() => assertNoSecrets(logs.flat()));

async function bridge(t: TestContext, args: string[]): Promise<RunningBridge> {
  const echo = await startEcho();
  t.after(() => echo.close());
  const running = await startBridge(['-v', ...args, '127.0.0.1:0', `127.0.0.1:${echo.port}`]);
  logs.push(running.logs);
  t.after(() => running.close());
  return running;
}

async function accepted(url: string, headers: Record<string, string>): Promise<void> {
  const ws = await openClient(url, undefined, { headers });
  ws.terminate();
}

test('--basic-auth user:pass: 401 with a challenge when missing or wrong, accepted when right', async (t) => {
  const running = await bridge(t, ['--basic-auth', `admin:${SECRETS.basicPassword}`]);
  const missing = await expectRefusal(running.url);
  assert.equal(missing.status, 401);
  assert.equal(missing.headers['www-authenticate'], 'Basic realm="wstcp"');
  const wrong = await expectRefusal(running.url, {
    headers: { Authorization: basicHeader('admin', SECRETS.wrongPassword) },
  });
  assert.equal(wrong.status, 401);
  const otherUser = await expectRefusal(running.url, {
    headers: { Authorization: basicHeader('root', SECRETS.basicPassword) },
  });
  assert.equal(otherUser.status, 401);
  const malformed = await expectRefusal(running.url, { headers: { Authorization: 'Basic %%%' } });
  assert.equal(malformed.status, 401);
  await accepted(running.url, { Authorization: basicHeader('admin', SECRETS.basicPassword) });
  assert.ok(running.logs.some((l) => l.includes('code=WSTCP_UNAUTHORIZED')));
});

test('--basic-auth with an htpasswd file', async (t) => {
  const files = tempDir(t);
  const { hashPassword } = await import('../../src/auth/password-hash.js');
  const file = files.write('users', `viewer:${hashPassword(SECRETS.htpasswdPassword)}\n`);
  const running = await bridge(t, ['--basic-auth', file]);
  const wrong = await expectRefusal(running.url, {
    headers: { Authorization: basicHeader('viewer', SECRETS.wrongPassword) },
  });
  assert.equal(wrong.status, 401);
  await accepted(running.url, { Authorization: basicHeader('viewer', SECRETS.htpasswdPassword) });
});

test('websockify BasicHTTPAuth: 401 with realm "Websockify", 403 for a malformed header', async (t) => {
  const running = await bridge(t, [
    '--auth-plugin',
    'BasicHTTPAuth',
    '--auth-source',
    `vnc:${SECRETS.pluginPassword}`,
  ]);
  const missing = await expectRefusal(running.url);
  assert.equal(missing.status, 401);
  assert.equal(missing.headers['www-authenticate'], 'Basic realm="Websockify"');
  const malformed = await expectRefusal(running.url, { headers: { Authorization: 'Digest abc' } });
  assert.equal(malformed.status, 403);
  await accepted(running.url, { Authorization: basicHeader('vnc', SECRETS.pluginPassword) });
});

test('websockify ExpectOrigin: listed origins pass, others and none get 403', async (t) => {
  const running = await bridge(t, [
    '--auth-plugin',
    'websockify.auth_plugins.ExpectOrigin',
    '--auth-source',
    'https://a.example https://b.example',
  ]);
  assert.equal((await expectRefusal(running.url)).status, 403);
  assert.equal((await expectRefusal(running.url, { origin: 'https://c.example' })).status, 403);
  const ws = await openClient(running.url, undefined, { origin: 'https://b.example' });
  ws.terminate();
});

test('--origin (repeatable, wildcard): matching origins pass, others and none get 403', async (t) => {
  const running = await bridge(t, ['--origin', 'https://*.example.com', '--origin', 'http://localhost:8080']);
  assert.equal((await expectRefusal(running.url)).status, 403);
  assert.equal((await expectRefusal(running.url, { origin: 'https://example.com' })).status, 403);
  assert.equal((await expectRefusal(running.url, { origin: 'https://evil.test' })).status, 403);
  for (const origin of ['https://desk.example.com', 'http://localhost:8080']) {
    const ws = await openClient(running.url, undefined, { origin });
    ws.terminate();
  }
});

test('configured checks compose: origin and Basic credentials must both pass', async (t) => {
  const running = await bridge(t, [
    '--origin',
    'https://app.example.com',
    '--basic-auth',
    `admin:${SECRETS.basicPassword}`,
  ]);
  const good = basicHeader('admin', SECRETS.basicPassword);
  assert.equal((await expectRefusal(running.url, { headers: { Authorization: good } })).status, 403);
  assert.equal((await expectRefusal(running.url, { origin: 'https://app.example.com' })).status, 401);
  const ws = await openClient(running.url, undefined, {
    origin: 'https://app.example.com',
    headers: { Authorization: good },
  });
  ws.terminate();
});

test('--web-auth guards static files with the same credentials; without it files are public', async (t) => {
  const files = tempDir(t);
  files.write('index.html', '<p>viewer</p>');
  const guarded = await bridge(t, [
    '--web',
    files.dir,
    '--web-auth',
    '--basic-auth',
    `admin:${SECRETS.basicPassword}`,
  ]);
  const refused = await fetchRaw(guarded.port, '/index.html');
  assert.equal(refused.status, 401);
  assert.equal(refused.headers['www-authenticate'], 'Basic realm="wstcp"');
  const wrong = await fetchRaw(guarded.port, '/index.html', {
    headers: { Authorization: basicHeader('admin', SECRETS.wrongPassword) },
  });
  assert.equal(wrong.status, 401);
  const ok = await fetchRaw(guarded.port, '/index.html', {
    headers: { Authorization: basicHeader('admin', SECRETS.basicPassword) },
  });
  assert.equal(ok.status, 200);
  assert.match(ok.body.toString(), /viewer/);

  const open = await bridge(t, ['--web', files.dir, '--basic-auth', `admin:${SECRETS.basicPassword}`]);
  assert.equal((await fetchRaw(open.port, '/index.html')).status, 200);
  assert.equal((await expectRefusal(open.url)).status, 401, 'the WebSocket stays guarded');
});

test('unusable auth settings are ConfigErrors', async () => {
  const cases: [string[], RegExp][] = [
    [['--auth-plugin', 'NoSuchPlugin', '--auth-source', 'x'], /unknown plugin/],
    [['--auth-plugin', 'ExpectOrigin'], /needs --auth-source/],
    [['--auth-plugin', 'BasicHTTPAuth', '--auth-source', 'nocolon'], /user:password/],
    [['--origin', 'example.com'], /--origin/],
    [['--basic-auth', 'justapassword'], /--basic-auth/],
    [['--web', '.', '--web-auth', '--origin', 'https://a.example'], /--web-auth needs a credential check/],
  ];
  for (const [args, message] of cases) {
    await assert.rejects(
      startBridge([...args, '127.0.0.1:0', '127.0.0.1:9']),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'WSTCP_CONFIG');
        assert.match(err.message, message);
        return true;
      },
    );
  }
});
