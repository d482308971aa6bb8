// Certificate reload without a restart: reload() (SIGHUP) and a change of the files swap the certificate
// for new connections while a live session keeps working; a broken new file keeps the old certificate.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, type TestContext, test } from 'node:test';
import { assembleParts } from '../../src/admission/assemble.js';
import { Bridge } from '../../src/bridge.js';
import { parseArgs } from '../../src/cli.js';
import { Logger } from '../../src/observe/log.js';
import { openClient, receive, startEcho, waitFor } from '../helpers/bridge.js';
import { makeCa } from '../helpers/pki.js';
import { assertNoSecrets } from '../helpers/secrets.js';
import { servedFingerprint } from '../helpers/tls-client.js';
import { tempDir } from '../helpers/tmp.js';

const ca = makeCa('reload CA');
const first = ca.server();
const second = ca.server();
const third = ca.server();
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
const logs: string[][] = [];
after(() => assertNoSecrets(logs.flat()));

/** A bridge whose parts the test holds, so it can call the terminator's reload() like SIGHUP does. */
async function reloadableBridge(t: TestContext, certFile: string, keyFile: string) {
  const echo = await startEcho();
  const config = parseArgs(['--cert', certFile, '--key', keyFile, '127.0.0.1:0', `127.0.0.1:${echo.port}`]);
  const lines: string[] = [];
  logs.push(lines);
  const log = new Logger({ sink: (line) => lines.push(line) });
  const parts = await assembleParts(config, log);
  const bridge = await Bridge.start(config, { log, parts });
  t.after(async () => {
    await bridge.close();
    await echo.close();
  });
  return { bridge, url: `wss://127.0.0.1:${bridge.port}`, reload: () => parts.tls?.reload?.(), lines };
}

/** Replaces a file the way deploy tools do: write a sibling, then rename over it. */
function replace(path: string, text: string): void {
  writeFileSync(`${path}.new`, text);
  renameSync(`${path}.new`, path);
}

test('reload() serves the new certificate to new connections while the old session keeps working', async (t) => {
  const files = tempDir(t);
  const cert = files.write('cert.pem', first.cert);
  const key = files.write('key.pem', first.key);
  const running = await reloadableBridge(t, cert, key);
  const old = await openClient(running.url, undefined, { ca: ca.cert });
  assert.equal(await servedFingerprint(running.bridge.port), fingerprint(first.cert));

  writeFileSync(cert, second.cert);
  writeFileSync(key, second.key);
  running.reload();
  assert.equal(await servedFingerprint(running.bridge.port), fingerprint(second.cert));

  old.send(Buffer.from('still here'));
  assert.equal((await receive(old, 10)).toString(), 'still here');
  const fresh = await openClient(running.url, undefined, { ca: ca.cert });
  fresh.send(Buffer.from('new'));
  assert.equal((await receive(fresh, 3)).toString(), 'new');
  old.terminate();
  fresh.terminate();
});

test('replacing the files is noticed without a signal', async (t) => {
  const files = tempDir(t);
  const cert = files.write('cert.pem', first.cert);
  const key = files.write('key.pem', first.key);
  const running = await reloadableBridge(t, cert, key);
  replace(key, third.key);
  replace(cert, third.cert);
  let served = '';
  for (let i = 0; i < 100 && served !== fingerprint(third.cert); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    served = await servedFingerprint(running.bridge.port);
  }
  assert.equal(served, fingerprint(third.cert));
  assert.ok(
    running.lines.some((l) => l.includes('tls.certificate_loaded') && l.includes(fingerprint(third.cert))),
  );
});

test('a broken new certificate keeps the old one in use and logs the failure', async (t) => {
  const files = tempDir(t);
  const cert = files.write('cert.pem', first.cert);
  const key = files.write('key.pem', first.key);
  const running = await reloadableBridge(t, cert, key);
  const session = await openClient(running.url, undefined, { ca: ca.cert });
  writeFileSync(cert, 'not a certificate');
  running.reload();
  assert.equal(await servedFingerprint(running.bridge.port), fingerprint(first.cert));
  assert.ok(running.lines.some((l) => l.includes('tls.reload_failed') && l.includes(cert)));
  session.send(Buffer.from('ok'));
  assert.equal((await receive(session, 2)).toString(), 'ok');
  session.terminate();
});

test('SIGHUP to the wstcp process reloads the certificate', async (t) => {
  // The files are symlinks into another directory whose files change in place: the watcher (on the
  // links' directory) sees nothing, so only the signal can explain a new certificate.
  const files = tempDir(t);
  const real = join(files.dir, 'real');
  mkdirSync(real);
  mkdirSync(join(files.dir, 'live'));
  writeFileSync(join(real, 'cert.pem'), first.cert);
  writeFileSync(join(real, 'key.pem'), first.key);
  symlinkSync(join(real, 'cert.pem'), join(files.dir, 'live/cert.pem'));
  symlinkSync(join(real, 'key.pem'), join(files.dir, 'live/key.pem'));
  const echo = await startEcho();
  t.after(() => echo.close());
  const child = spawn(
    process.execPath,
    [
      'bin/wstcp',
      '--cert',
      join(files.dir, 'live/cert.pem'),
      '--key',
      join(files.dir, 'live/key.pem'),
      '127.0.0.1:0',
      `127.0.0.1:${echo.port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  let port = 0;
  await waitFor(
    () => {
      const match = /bridge\.listening listen=127\.0\.0\.1:(\d+)/.exec(stderr);
      port = match ? Number(match[1]) : 0;
      return port > 0;
    },
    10000,
    'the bridge to listen',
  );
  assert.equal(await servedFingerprint(port), fingerprint(first.cert));
  writeFileSync(join(real, 'cert.pem'), second.cert);
  writeFileSync(join(real, 'key.pem'), second.key);
  await new Promise((resolve) => setTimeout(resolve, 700));
  assert.equal(await servedFingerprint(port), fingerprint(first.cert), 'no reload before the signal');
  child.kill('SIGHUP');
  await waitFor(
    () => (stderr.match(/tls\.certificate_loaded/g) ?? []).length >= 2,
    5000,
    'the reload log line',
  );
  assert.equal(await servedFingerprint(port), fingerprint(second.cert));
  logs.push(stderr.split('\n').filter(Boolean));
  child.kill('SIGTERM');
  await once(child, 'exit');
});
