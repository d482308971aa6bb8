// Interop with the Python websockify (Debian package): the same token file, the same Redis keys (written by
// `wstcp tokens set`) and the same JWT key route the same tokens to the same targets in both bridges.
// websockify drops the connection for an unknown token; wstcp answers 404 instead.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { tokensCommand } from '../../src/tokens/cli.js';
import { expectRefusal, startBridge } from '../helpers/bridge.js';
import { freePort } from '../helpers/ports.js';
import { requireProgram } from '../helpers/programs.js';
import { tempDir } from '../helpers/tmp.js';
import { startNamedTargets, startNamedUnixTarget, startRedis } from '../helpers/tokens.js';

/** Starts websockify with `args` on a free loopback port; resolves once it accepts connections. */
async function startWebsockify(t: TestContext, program: string, args: string[]): Promise<string> {
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(program, [...args, `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  t.after(async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    // websockify forks a child per connection: end the whole process group it leads.
    process.kill(-child.pid, 'SIGTERM');
    await once(child, 'exit');
  });
  const deadline = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return `ws://127.0.0.1:${port}`;
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`websockify did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The first message from the target, or 'refused' when the bridge fails the handshake in any way. */
function greeting(url: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      resolve('no answer');
    }, 5000);
    ws.once('message', (data: Buffer) => {
      clearTimeout(timer);
      resolve(data.toString().trim());
      ws.close();
    });
    ws.once('error', () => {
      clearTimeout(timer);
      resolve('refused');
    });
    ws.once('close', () => {
      clearTimeout(timer);
      resolve('refused');
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      res.resume();
      resolve('refused');
    });
  });
}

test('the same token file routes identically in websockify and wstcp', async (t) => {
  const websockify = requireProgram(t, 'websockify');
  if (!websockify) return;
  const dir = tempDir(t).dir;
  const targets = await startNamedTargets(t, ['alpha', 'beta']);
  await startNamedUnixTarget(t, join(dir, 'gamma.sock'), 'gamma');
  const file = join(dir, 'tokens.conf');
  writeFileSync(
    file,
    [
      '# shared by both bridges',
      `alpha: 127.0.0.1:${targets.alpha}`,
      '',
      `beta:\t127.0.0.1:${targets.beta}`,
      `gamma: unix_socket:${join(dir, 'gamma.sock')}`,
      `alpha: 127.0.0.1:${targets.beta}`,
    ].join('\n'),
  );
  const python = await startWebsockify(t, websockify, [
    '--token-plugin',
    'TokenFile',
    '--token-source',
    file,
  ]);
  const wstcp = await startBridge(['127.0.0.1:0', '--token-plugin', 'TokenFile', '--token-source', file]);
  t.after(() => wstcp.close());

  // alpha is defined twice: the last line wins in both.
  const expected = { alpha: 'beta', beta: 'beta', gamma: 'gamma' };
  for (const [token, target] of Object.entries(expected)) {
    assert.equal(await greeting(`${python}/websockify?token=${token}`), target, `websockify, token ${token}`);
    assert.equal(await greeting(`${wstcp.url}/websockify?token=${token}`), target, `wstcp, token ${token}`);
  }
  assert.equal(await greeting(`${python}/websockify?token=nope`), 'refused');
  assert.equal((await expectRefusal(`${wstcp.url}/websockify?token=nope`)).status, 404);
});

test('the same directory of token files routes identically in websockify and wstcp', async (t) => {
  const websockify = requireProgram(t, 'websockify');
  if (!websockify) return;
  const dir = tempDir(t).dir;
  const targets = await startNamedTargets(t, ['alpha', 'beta']);
  const tokens = join(dir, 'tokens.d');
  mkdirSync(tokens);
  writeFileSync(join(tokens, 'team-a.conf'), `alpha: 127.0.0.1:${targets.alpha}\n`);
  writeFileSync(join(tokens, 'team-b.conf'), `# team b\nbeta: 127.0.0.1:${targets.beta}\n`);
  const flags = ['--token-plugin', 'websockify.token_plugins.ReadOnlyTokenFile', '--token-source', tokens];
  const python = await startWebsockify(t, websockify, flags);
  const wstcp = await startBridge(['127.0.0.1:0', ...flags]);
  t.after(() => wstcp.close());
  for (const token of ['alpha', 'beta']) {
    assert.equal(await greeting(`${python}/websockify?token=${token}`), token, `websockify, token ${token}`);
    assert.equal(await greeting(`${wstcp.url}/websockify?token=${token}`), token, `wstcp, token ${token}`);
  }
});

test('Redis keys written by `wstcp tokens set` route identically in websockify and wstcp', async (t) => {
  const websockify = requireProgram(t, 'websockify');
  const program = requireProgram(t, 'redis-server');
  if (!websockify || !program) return;
  const redis = await startRedis(t, program);
  const targets = await startNamedTargets(t, ['alpha', 'beta']);
  const store = ['--token-plugin', 'TokenRedis', '--token-source', `127.0.0.1:${redis.port}`];
  for (const name of ['alpha', 'beta'] as const) {
    const code = await tokensCommand(['set', name, `127.0.0.1:${targets[name]}`, ...store], {
      out: () => {},
      err: () => {},
    });
    assert.equal(code, 0);
  }
  const python = await startWebsockify(t, websockify, store);
  const wstcp = await startBridge(['127.0.0.1:0', ...store]);
  t.after(() => wstcp.close());
  for (const token of ['alpha', 'beta']) {
    const theirs = await greeting(`${python}/websockify?token=${token}`);
    if (theirs === 'refused' && process.env.CI !== 'true') {
      t.skip('websockify cannot read Redis here (apt-get install python3-redis python3-simplejson)');
      return;
    }
    assert.equal(await greeting(`${wstcp.url}/websockify?token=${token}`), theirs, `token ${token}`);
    assert.equal(theirs, token);
  }
  assert.equal((await expectRefusal(`${wstcp.url}/websockify?token=nope`)).status, 404);
});

test('the same JWT key and tokens route identically in websockify and wstcp', async (t) => {
  const websockify = requireProgram(t, 'websockify');
  if (!websockify) return;
  const targets = await startNamedTargets(t, ['alpha']);
  const keyText = randomBytes(32).toString('base64url');
  const keyFile = join(tempDir(t).dir, 'jwt.key');
  writeFileSync(keyFile, keyText);
  const token = await new SignJWT({ host: '127.0.0.1', port: targets.alpha })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(Buffer.from(keyText, 'base64url'));
  const flags = ['--token-plugin', 'JWTTokenApi', '--token-source', keyFile];
  const python = await startWebsockify(t, websockify, flags);
  const wstcp = await startBridge(['127.0.0.1:0', ...flags]);
  t.after(() => wstcp.close());
  const theirs = await greeting(`${python}/websockify?token=${token}`);
  if (theirs === 'refused' && process.env.CI !== 'true') {
    t.skip('websockify cannot verify JWTs here (apt-get install python3-jwcrypto)');
    return;
  }
  assert.equal(theirs, 'alpha');
  assert.equal(await greeting(`${wstcp.url}/websockify?token=${token}`), 'alpha');
});
