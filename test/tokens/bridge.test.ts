// Token routing end to end through the bridge: the handshake is answered 401/403/404/503 with a reason,
// and a routed session carries data. Each store kind is reached through its command-line flags.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import WebSocket, { type ClientOptions } from 'ws';
import { ConfigError } from '../../src/errors.js';
import { expectRefusal, openClient, receive, startBridge, startEcho } from '../helpers/bridge.js';
import { startHttp } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { requireProgram } from '../helpers/programs.js';
import { tempDir } from '../helpers/tmp.js';
import { startNamedTargets, startNamedUnixTarget, startRedis } from '../helpers/tokens.js';

async function echoThrough(url: string): Promise<void> {
  const ws = await openClient(url);
  const data = randomBytes(64 * 1024);
  ws.send(data);
  assert.deepEqual(await receive(ws, data.length), data);
  ws.close();
}

/**
 * The first message of a session to a target that speaks first. The listener is attached before the
 * handshake: a message arriving together with the 101 is emitted before an awaited open() returns.
 */
function greeting(url: string, options: ClientOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    ws.once('message', (data: Buffer) => {
      resolve(data.toString().trim());
      ws.close();
    });
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`unexpected HTTP ${res.statusCode}`));
      res.resume();
    });
  });
}

test('TokenFile: routed sessions, 401 without a token, 404 for an unknown one, 403 outside --allow-target', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const file = join(tempDir(t).dir, 'tokens');
  writeFileSync(file, `echo: 127.0.0.1:${echo.port}\nforbidden: 127.0.0.2:${echo.port}\n`);
  const bridge = await startBridge([
    '127.0.0.1:0',
    '--token-plugin',
    'TokenFile',
    '--token-source',
    file,
    '--allow-target',
    `127.0.0.1:${echo.port}`,
  ]);
  t.after(() => bridge.close());

  await echoThrough(`${bridge.url}/websockify?token=echo`);
  await echoThrough(`${bridge.url}/t/echo`);
  await echoThrough(`${bridge.url}/websockify?x=1&token=echo`);

  const missing = await expectRefusal(`${bridge.url}/websockify`);
  assert.equal(missing.status, 401);
  assert.ok(missing.body.length > 0, 'the refusal says why');
  const unknown = await expectRefusal(`${bridge.url}/websockify?token=nope`);
  assert.equal(unknown.status, 404);
  const forbidden = await expectRefusal(`${bridge.url}/websockify?token=forbidden`);
  assert.equal(forbidden.status, 403);
  assert.ok(!bridge.logs.some((l) => l.includes('nope')), 'tokens stay out of the log');
});

test('a cookie token and --host-token', async (t) => {
  const targets = await startNamedTargets(t, ['alpha', 'beta']);
  const file = join(tempDir(t).dir, 'tokens');
  writeFileSync(file, `alpha: 127.0.0.1:${targets.alpha}\nlocalhost: 127.0.0.1:${targets.beta}\n`);
  const byCookie = await startBridge(['--tokens', `file:${file}`, '127.0.0.1:0']);
  t.after(() => byCookie.close());
  assert.equal(await greeting(`${byCookie.url}/websockify`, { headers: { cookie: 'token=alpha' } }), 'alpha');

  const byHost = await startBridge(['--tokens', `file:${file}`, '--host-token', '127.0.0.1:0']);
  t.after(() => byHost.close());
  assert.equal(await greeting(`ws://localhost:${byHost.port}/?token=alpha`), 'beta');
  assert.equal((await expectRefusal(`${byHost.url}/`)).status, 404, 'Host 127.0.0.1 is not a token here');
});

test('a bad token file is a startup error naming file:line', async (t) => {
  const file = join(tempDir(t).dir, 'tokens');
  writeFileSync(file, 'good: 127.0.0.1:1\nbad line\n');
  await assert.rejects(startBridge(['--target-config', file, '127.0.0.1:0']), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.ok(err.message.startsWith(`${file}:2:`), err.message);
    return true;
  });
});

test('Redis: routed while up, 503 while down, routed again when it is back', async (t) => {
  const program = requireProgram(t, 'redis-server');
  if (!program) return;
  const echo = await startEcho();
  t.after(() => echo.close());
  const redis = await startRedis(t, program);
  await redis.cli('SET', 'desk:one', JSON.stringify({ host: `127.0.0.1:${echo.port}` }));
  const bridge = await startBridge([
    '127.0.0.1:0',
    '--token-plugin',
    'TokenRedis',
    '--token-source',
    `127.0.0.1:${redis.port}:::desk`,
    '--token-timeout',
    '1',
  ]);
  t.after(() => bridge.close());
  await echoThrough(`${bridge.url}/websockify?token=one`);
  assert.equal((await expectRefusal(`${bridge.url}/websockify?token=two`)).status, 404);

  await redis.stop();
  const down = await expectRefusal(`${bridge.url}/websockify?token=one`);
  assert.equal(down.status, 503);

  await redis.start();
  await redis.cli('SET', 'desk:one', `127.0.0.1:${echo.port}`);
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      await echoThrough(`${bridge.url}/websockify?token=one`);
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});

test('a Redis that is not there at startup: the bridge starts and answers 503', async (t) => {
  const port = await freePort();
  const bridge = await startBridge([
    '--tokens',
    `redis://127.0.0.1:${port}/0`,
    '--token-timeout',
    '0.2',
    '127.0.0.1:0',
  ]);
  t.after(() => bridge.close());
  assert.equal((await expectRefusal(`${bridge.url}/websockify?token=x`)).status, 503);
});

test('HTTP API: routed, 404, and 503 when the API is slower than --token-timeout', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const api = await startHttp(t, (req, res) => {
    if (req.url === '/lookup/good') return res.end(JSON.stringify({ host: '127.0.0.1', port: echo.port }));
    if (req.url === '/lookup/slow') return; // never answers
    res.statusCode = 404;
    res.end();
  });
  const bridge = await startBridge([
    '--tokens',
    `http://127.0.0.1:${api.port}/lookup/{token}`,
    '--token-timeout',
    '0.3',
    '127.0.0.1:0',
  ]);
  t.after(() => bridge.close());
  await echoThrough(`${bridge.url}/websockify?token=good`);
  assert.equal((await expectRefusal(`${bridge.url}/websockify?token=bad`)).status, 404);
  assert.equal((await expectRefusal(`${bridge.url}/websockify?token=slow`)).status, 503);
});

test('JWT: routed, expired -> 401, and --allow-target stops a validly signed token to elsewhere', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const secretText = randomBytes(32).toString('base64url');
  const keyFile = join(tempDir(t).dir, 'jwt.key');
  writeFileSync(keyFile, secretText);
  const secret = Buffer.from(secretText, 'base64url');
  const sign = (claims: Record<string, unknown>, exp?: number) => {
    const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' });
    if (exp !== undefined) jwt.setExpirationTime(exp);
    return jwt.sign(secret);
  };
  const bridge = await startBridge([
    '127.0.0.1:0',
    '--token-plugin',
    'JWTTokenApi',
    '--token-source',
    keyFile,
    '--allow-target',
    `127.0.0.1:${echo.port}`,
  ]);
  t.after(() => bridge.close());
  await echoThrough(`${bridge.url}/websockify?token=${await sign({ host: '127.0.0.1', port: echo.port })}`);
  const expired = await sign({ host: '127.0.0.1', port: echo.port }, Math.floor(Date.now() / 1000) - 60);
  assert.equal((await expectRefusal(`${bridge.url}/websockify?token=${expired}`)).status, 401);
  const elsewhere = await sign({ host: '127.0.0.1', port: 22 });
  assert.equal((await expectRefusal(`${bridge.url}/websockify?token=${elsewhere}`)).status, 403);
});

test('a running bridge picks up token file edits; a broken edit keeps the previous table', async (t) => {
  const targets = await startNamedTargets(t, ['alpha', 'beta']);
  const file = join(tempDir(t).dir, 'tokens');
  writeFileSync(file, `a: 127.0.0.1:${targets.alpha}\n`);
  const bridge = await startBridge(['127.0.0.1:0', '--tokens', `file:${file}`]);
  t.after(() => bridge.close());
  assert.equal(await greeting(`${bridge.url}/websockify?token=a`), 'alpha');

  writeFileSync(file, `a: 127.0.0.1:${targets.beta}\nb: 127.0.0.1:${targets.alpha}\n`);
  const routesTo = async (token: string, name: string) => {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if ((await greeting(`${bridge.url}/websockify?token=${token}`).catch(() => '')) === name) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  };
  assert.ok(await routesTo('a', 'beta'), 'the edit is live');
  assert.ok(await routesTo('b', 'alpha'));

  writeFileSync(file, `a: 127.0.0.1:${targets.alpha}\nthis line is broken\n`);
  const deadline = Date.now() + 5000;
  while (!bridge.logs.some((l) => l.includes(`${file}:2:`)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(
    bridge.logs.some((l) => l.includes(`${file}:2:`)),
    'the broken line is logged as file:line',
  );
  assert.equal(await greeting(`${bridge.url}/websockify?token=a`), 'beta', 'the previous table still serves');
});

test('UnixDomainSocketDirectory through the bridge: a socket per token, no way out of the directory', async (t) => {
  const root = tempDir(t).dir;
  const dir = join(root, 'sockets');
  mkdirSync(dir);
  for (const [path, name] of [
    [join(dir, 'alice'), 'alice'],
    [join(root, 'outside'), 'outside'],
  ] as const) {
    await startNamedUnixTarget(t, path, name);
  }
  const bridge = await startBridge([
    '127.0.0.1:0',
    '--token-plugin',
    'UnixDomainSocketDirectory',
    '--token-source',
    dir,
  ]);
  t.after(() => bridge.close());
  assert.equal(await greeting(`${bridge.url}/websockify?token=alice`), 'alice');
  for (const token of ['..%2Foutside', '%2E%2E%2Foutside', encodeURIComponent(join(root, 'outside'))]) {
    assert.equal((await expectRefusal(`${bridge.url}/websockify?token=${token}`)).status, 404, token);
  }
});
