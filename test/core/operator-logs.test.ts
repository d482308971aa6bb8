// Logs an operator can use (issue 17): which token a refusal or a session was about (its tag, never the
// token), "unix" rather than ":0" for clients of a --unix-listen socket, --log-file reopened on SIGUSR1
// after logrotate moved it, one warning when the bridge is open to everyone, and the 502 for a name that
// does not resolve carrying its code like the other refusals.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { tokenTag } from '../../src/tokens/token-tag.js';
import { closed, expectRefusal, openClient, startBridge, startEcho, waitFor } from '../helpers/bridge.js';
import { UPGRADE_HEADERS } from '../helpers/http.js';
import { spawnWstcp, WSTCP_BIN } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';

function jsonLines(logs: string[], event: string): Record<string, unknown>[] {
  return logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === event);
}

// handshake.refused and session.open said nothing about the token: only debug lines (tokens.unknown) did.
test('handshake.refused and session.open carry the token tag at the default level, never the token', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const file = join(tempDir(t).dir, 'tokens');
  writeFileSync(file, `known-secret: 127.0.0.1:${echo.port}\n`);
  const bridge = await startBridge(['--tokens', `file:${file}`, '--log-format', 'json', '127.0.0.1:0']);
  t.after(() => bridge.close());

  assert.equal((await expectRefusal(`${bridge.url}/websockify?token=wrong-secret`)).status, 404);
  const ws = await openClient(`${bridge.url}/websockify?token=known-secret`);
  ws.close();
  await closed(ws);

  await waitFor(() => jsonLines(bridge.logs, 'session.open').length === 1);
  const [refused] = jsonLines(bridge.logs, 'handshake.refused');
  assert.equal(refused?.token, tokenTag('wrong-secret'));
  assert.equal(refused?.code, 'WSTCP_TOKEN_UNKNOWN');
  assert.equal(jsonLines(bridge.logs, 'session.open')[0]?.token, tokenTag('known-secret'));
  for (const line of bridge.logs) assert.ok(!line.includes('secret'), line);
});

// With --unix-listen behind a proxy every line said client=":0".
test('a client of a unix listening socket is logged as client=unix', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const path = join(tempDir(t).dir, 'wstcp.sock');
  const bridge = await startBridge(['--unix-listen', path, '--log-format', 'json', `127.0.0.1:${echo.port}`]);
  t.after(() => bridge.close());
  await new Promise<void>((resolve, reject) => {
    const req = request({ socketPath: path, path: '/websockify', headers: UPGRADE_HEADERS });
    req.once('upgrade', (_res, socket) => {
      socket.destroy();
      resolve();
    });
    req.once('error', reject);
    req.end();
  });
  await waitFor(() => jsonLines(bridge.logs, 'session.close').length === 1);
  assert.equal(jsonLines(bridge.logs, 'session.open')[0]?.client, 'unix');
  assert.equal(jsonLines(bridge.logs, 'session.close')[0]?.client, 'unix');
});

// --log-file kept writing into the file logrotate had renamed; there was no way to reopen it.
test('SIGUSR1 reopens --log-file: lines after it go to a new file of the same name', async (t) => {
  const dir = tempDir(t).dir;
  const file = join(dir, 'wstcp.log');
  // spawn itself: spawnWstcp waits for the listening line on stderr, which goes to the file here.
  const child = spawn(process.execPath, [WSTCP_BIN, '--log-file', file, '127.0.0.1:0', '127.0.0.1:1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit');
  await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes('bridge.listening'));
  renameSync(file, `${file}.1`);
  child.kill('SIGUSR1');
  await waitFor(() => existsSync(file), 5000, 'the reopened log file');
  child.kill('SIGTERM');
  assert.equal((await exited)[0], 0);
  assert.match(readFileSync(`${file}.1`, 'utf8'), /bridge\.listening/);
  const after = readFileSync(file, 'utf8');
  assert.match(after, /bridge\.stopped/);
  assert.doesNotMatch(after, /bridge\.listening/);
  assert.doesNotMatch(stderr, /Debugger/, 'SIGUSR1 must not start the inspector');
});

// websockify's default (every address, plain ws://, no password) was kept silently.
test('listening on every address without TLS or auth logs one bridge.exposed warning; a listen host avoids it', async () => {
  const everywhere = await spawnWstcp(['0', '127.0.0.1:1']);
  const loopback = await spawnWstcp(['127.0.0.1:0', '127.0.0.1:1']);
  const withAuth = await spawnWstcp(['--basic-auth', 'u:p', '0', '127.0.0.1:1']);
  for (const run of [everywhere, loopback, withAuth]) {
    run.kill('SIGTERM');
    await run.exited;
  }
  const exposed = everywhere.lines.filter((l) => l.event === 'bridge.exposed');
  assert.equal(exposed.length, 1);
  assert.equal(exposed[0]?.level, 'warn');
  assert.equal(loopback.lines.filter((l) => l.event === 'bridge.exposed').length, 0);
  assert.equal(withAuth.lines.filter((l) => l.event === 'bridge.exposed').length, 0);
});

// The 502 for a refused connection ended with "(WSTCP_TARGET_UNREACHABLE)"; the one for a name that does
// not resolve did not. "no..such" is refused by the resolver library itself: no DNS query leaves the machine.
test('the 502 for a target name that does not resolve carries its WSTCP code in the body', async (t) => {
  const bridge = await startBridge(['127.0.0.1:0', 'no..such:5900']);
  t.after(() => bridge.close());
  const refusal = await expectRefusal(`${bridge.url}/websockify`);
  assert.equal(refusal.status, 502);
  assert.equal(refusal.headers['x-wstcp-error'], 'WSTCP_TARGET_UNREACHABLE');
  assert.match(refusal.body, /WSTCP_TARGET_UNREACHABLE/);
});

// With --workers every worker would say it: one line per process instead of one for the bridge.
test('with --workers the bridge.exposed warning is logged once', async () => {
  const run = await spawnWstcp(['--workers', '2', '0', '127.0.0.1:1']);
  await waitFor(() => run.lines.some((l) => l.event === 'workers.listening'), 15000, 'the workers');
  run.kill('SIGTERM');
  await run.exited;
  assert.equal(run.lines.filter((l) => l.event === 'bridge.exposed').length, 1);
});
