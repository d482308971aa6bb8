// Real OpenSSH through the client and wstcp-the-server: ssh runs a command with `wstcp connect` as its
// ProxyCommand (the token is ssh's host name, filled in by ssh's %h), and scp copies 100 MB over wss://
// with a token and a CA made by the test; the copy's hash must equal the original's.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startBridge } from '../helpers/bridge.js';
import { cleanEnv } from '../helpers/client.js';
import { makeCa } from '../helpers/pki.js';
import { WSTCP_BIN } from '../helpers/process.js';
import { startSshd } from '../helpers/sshd.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

/** `node bin/wstcp connect ...` as ssh's ProxyCommand; ssh runs it with /bin/sh, so each word is quoted. */
function proxyCommand(words: string[]): string {
  return [process.execPath, WSTCP_BIN, 'connect', ...words]
    .map((w) => (/^%[hp]$/.test(w) ? w : `'${w}'`))
    .join(' ');
}

async function fileHash(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

test('ssh runs a command through wstcp connect (token from %h) and wstcp-the-server', async (t) => {
  const sshd = await startSshd(t);
  if (!sshd) return;
  const tokens = join(sshd.dir, 'tokens');
  writeFileSync(tokens, `mybox: 127.0.0.1:${sshd.port}\nmybox-22: 127.0.0.1:${sshd.port}\n`);
  const bridge = await startBridge(['--token-plugin', 'TokenFile', '--token-source', tokens, '127.0.0.1:0']);
  t.after(() => bridge.close());
  const env = cleanEnv();

  const { stdout } = await run(
    'ssh',
    [
      ...sshd.clientOptions,
      '-o',
      `ProxyCommand=${proxyCommand([`${bridge.url}/?token=%h`])}`,
      '-l',
      sshd.user,
      'mybox',
      'echo through-the-bridge; echo $((6 * 7))',
    ],
    { env, timeout: 30000 },
  );
  assert.equal(stdout, 'through-the-bridge\n42\n');
  assert.ok(bridge.logs.some((line) => line.includes('session.open') && line.includes('protocol=binary')));
  // The placeholders left for wstcp itself: ssh turns %%h into %h, and passes HOST and PORT as arguments.
  const placeholders = await run(
    'ssh',
    [
      ...sshd.clientOptions,
      '-o',
      `ProxyCommand=${proxyCommand([`${bridge.url}/?token=%%h-%%p`, '%h', '%p'])}`,
      '-l',
      sshd.user,
      'mybox',
      'echo placeholders',
    ],
    { env, timeout: 30000 },
  );
  assert.equal(placeholders.stdout, 'placeholders\n');
});

test('scp copies 100 MB over wss:// with a token through wstcp connect; the hashes are equal', async (t) => {
  const sshd = await startSshd(t);
  if (!sshd) return;
  const ca = makeCa();
  const server = ca.server();
  const files = (name: string, text: string) => {
    const path = join(sshd.dir, name);
    writeFileSync(path, text);
    return path;
  };
  const tokens = files('tokens', `copy-token: 127.0.0.1:${sshd.port}\n`);
  const bridge = await startBridge(
    [
      '--cert',
      files('cert.pem', server.cert),
      '--key',
      files('key.pem', server.key),
      '--token-plugin',
      'TokenFile',
      '--token-source',
      tokens,
      '127.0.0.1:0',
    ],
    { secure: true },
  );
  t.after(() => bridge.close());
  const source = join(sshd.dir, 'source.bin');
  const chunks: Buffer[] = [];
  for (let i = 0; i < 100; i++) chunks.push(randomBytes(MiB));
  writeFileSync(source, Buffer.concat(chunks));
  const copy = join(sshd.dir, 'copy.bin');
  const caFile = files('ca.pem', ca.cert);
  const startedAt = Date.now();
  await run(
    'scp',
    [
      ...sshd.clientOptions,
      '-o',
      `ProxyCommand=${proxyCommand(['--ca', caFile, `wss://localhost:${bridge.port}/?token=%h`])}`,
      '-o',
      `User=${sshd.user}`,
      source,
      `copy-token:${copy}`,
    ],
    { env: cleanEnv(), timeout: 120000 },
  ).catch((err: Error & { stderr?: string }) =>
    assert.fail(`${err.message}\n${err.stderr}\n${sshd.output()}`),
  );
  const seconds = (Date.now() - startedAt) / 1000;
  assert.equal(await fileHash(copy), await fileHash(source));
  t.diagnostic(`100 MB in ${seconds.toFixed(1)} s`);
  assert.ok(bridge.logs.some((line) => line.includes('session.open') && line.includes('tls=true')));
});
