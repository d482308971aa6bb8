// An HTTP CONNECT proxy in the path: the real tinyproxy between `wstcp connect` and wstcp-the-server,
// chosen by --http-proxy or by HTTPS_PROXY/HTTP_PROXY with NO_PROXY exceptions; refusals and proxy
// authentication end with exit 3 and the proxy's status.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { ExitCode } from '../../src/client/errors.js';
import { startBridge, startEcho, waitFor } from '../helpers/bridge.js';
import { cleanEnv, connectOnce, runClient } from '../helpers/client.js';
import { startRedirectingProxy } from '../helpers/connect-proxy.js';
import { makeCa } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { startTinyproxy } from '../helpers/tinyproxy.js';
import { tempDir } from '../helpers/tmp.js';

async function echoBridge(t: TestContext, tls?: { cert: string; key: string }) {
  const echo = await startEcho();
  t.after(() => echo.close());
  const args = ['127.0.0.1:0', `127.0.0.1:${echo.port}`];
  if (tls) {
    const { dir } = tempDir(t);
    writeFileSync(join(dir, 'cert.pem'), tls.cert);
    writeFileSync(join(dir, 'key.pem'), tls.key);
    args.unshift('--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem'));
  }
  const bridge = await startBridge(args, { secure: tls !== undefined });
  t.after(() => bridge.close());
  return bridge;
}

test('--http-proxy: a wss:// session runs through tinyproxy (CONNECT), data intact', async (t) => {
  const proxy = await startTinyproxy(t);
  if (!proxy) return;
  const ca = makeCa();
  const bridge = await echoBridge(t, ca.server());
  const caFile = join(tempDir(t).dir, 'ca.pem');
  writeFileSync(caFile, ca.cert);
  const data = randomBytes(4 * 1024 * 1024);
  const run = runClient(t, [
    'connect',
    '--http-proxy',
    proxy.url,
    '--ca',
    caFile,
    `wss://localhost:${bridge.port}/`,
  ]);
  run.child.stdin!.write(data);
  await waitFor(() => run.stdout().length >= data.length, 20000, 'the echo');
  run.child.stdin!.end();
  assert.equal(await run.exited, ExitCode.OK, run.stderr());
  assert.ok(run.stdout().equals(data));
  assert.match(proxy.log(), new RegExp(`CONNECT.*:${bridge.port}`), 'the proxy carried the session');
  assert.ok(bridge.logs.some((line) => line.includes('session.open') && line.includes('tls=true')));
});

// Reproduces: the CONNECT tunnel was opened, then unused (Node's HTTP client with `agent: false` ignores
// createConnection and connected to the server itself), so a server reachable only through the proxy failed.
for (const scheme of ['ws', 'wss'] as const) {
  test(`--http-proxy: the ${scheme}:// session runs inside the tunnel (a server reachable only through it)`, async (t) => {
    const ca = makeCa();
    const bridge = await echoBridge(t, scheme === 'wss' ? ca.server() : undefined);
    const proxy = await startRedirectingProxy(t, bridge.port);
    const caFile = join(tempDir(t).dir, 'ca.pem');
    writeFileSync(caFile, ca.cert);
    // Nothing listens here: only the proxy knows where the server is.
    const nowhere = `localhost:${await freePort()}`;
    const data = randomBytes(1024 * 1024);
    const run = runClient(t, [
      'connect',
      '--http-proxy',
      proxy.url,
      '--ca',
      caFile,
      `${scheme}://${nowhere}/`,
    ]);
    run.child.stdin!.write(data);
    await waitFor(() => run.stdout().length >= data.length || run.child.exitCode !== null, 20000, 'the echo');
    run.child.stdin!.end();
    assert.equal(await run.exited, ExitCode.OK, run.stderr());
    assert.ok(run.stdout().equals(data), 'the echo is intact');
    assert.deepEqual(proxy.requested, [nowhere]);
  });
}

test('HTTP_PROXY from the environment is used, NO_PROXY hosts bypass it, --http-proxy "" turns it off', async (t) => {
  const proxy = await startTinyproxy(t);
  if (!proxy) return;
  const bridge = await echoBridge(t);
  const viaEnv = await connectOnce(t, [bridge.url], Buffer.from('x'), {
    env: cleanEnv({ HTTP_PROXY: proxy.url }),
  });
  assert.equal(viaEnv.code, ExitCode.OK, viaEnv.stderr);
  assert.match(proxy.log(), new RegExp(`CONNECT.*:${bridge.port}`));

  const dead = `http://127.0.0.1:${await freePort()}`;
  const broken = await connectOnce(t, [bridge.url], Buffer.alloc(0), { env: cleanEnv({ http_proxy: dead }) });
  assert.equal(broken.code, ExitCode.UNREACHABLE, 'the dead proxy from the environment was tried');
  assert.match(broken.stderr, /proxy/);
  const bypassed = await connectOnce(t, [bridge.url], Buffer.from('x'), {
    env: cleanEnv({ http_proxy: dead, NO_PROXY: 'example.org, 127.0.0.1' }),
  });
  assert.equal(bypassed.code, ExitCode.OK, bypassed.stderr);
  const off = await connectOnce(t, ['--http-proxy', '', bridge.url], Buffer.from('x'), {
    env: cleanEnv({ http_proxy: dead }),
  });
  assert.equal(off.code, ExitCode.OK, off.stderr);
});

test('a proxy that refuses the CONNECT ends with exit 3 and its status', async (t) => {
  const proxy = await startTinyproxy(t, { connectPorts: [443] });
  if (!proxy) return;
  const bridge = await echoBridge(t);
  const result = await connectOnce(t, ['--http-proxy', proxy.url, bridge.url]);
  assert.equal(result.code, ExitCode.UNREACHABLE);
  assert.match(result.stderr, /HTTP 403\b/);
});

test('proxy credentials from the proxy URL are sent as Proxy-Authorization and never printed', async (t) => {
  const proxy = await startTinyproxy(t, { basicAuth: ['proxyuser', 'pr0xy-pa55'] });
  if (!proxy) return;
  const bridge = await echoBridge(t);
  const anonymous = await connectOnce(t, ['--http-proxy', proxy.url, bridge.url]);
  assert.equal(anonymous.code, ExitCode.UNREACHABLE);
  assert.match(anonymous.stderr, /HTTP 407\b/);
  const withCredentials = `http://proxyuser:pr0xy-pa55@127.0.0.1:${proxy.port}`;
  const ok = await connectOnce(t, ['-v', '--http-proxy', withCredentials, bridge.url], Buffer.from('x'));
  assert.equal(ok.code, ExitCode.OK, ok.stderr);
  assert.doesNotMatch(ok.stderr, /pr0xy-pa55|proxyuser/);
});
