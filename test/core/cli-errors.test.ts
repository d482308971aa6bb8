// Errors a newcomer meets in the first hour (issue 17): each is one line naming the flag as written, exit
// code 2 for every bad flag or value, "Try --help" only after mistakes in the command line itself, and
// what to do when the port cannot be bound.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { spawnWstcp, WSTCP_BIN } from '../helpers/process.js';

const TRY_HELP = /Try 'wstcp --help'/;

/** Runs `wstcp ARGS` exactly as given (spawnWstcp puts --log-format first, before any subcommand). */
async function runRaw(args: string[], options: { uid?: number; gid?: number } = {}) {
  const child = spawn(process.execPath, [WSTCP_BIN, ...args], {
    ...options,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

/** Runs wstcp with `args`, expects it to exit 2, and returns its stderr. */
async function badFlag(args: string[]): Promise<string> {
  const run = await spawnWstcp(args);
  assert.equal(await run.exited, 2, `${args.join(' ')}: ${run.stderr()}`);
  return run.stderr();
}

// Values refused after parsing (--allow-target, --basic-auth, --web) exited 1, not 2 as documented.
test('bad flag values found while starting exit 2 with one line naming the flag, no "Try --help"', async () => {
  for (const [args, flag] of [
    [['--allow-target', 'foo', '127.0.0.1:0', '127.0.0.1:1'], '--allow-target'],
    [['--basic-auth', 'nocolon', '127.0.0.1:0', '127.0.0.1:1'], '--basic-auth'],
    [['--web', '/nonexistent-wstcp-dir', '127.0.0.1:0', '127.0.0.1:1'], '--web'],
  ] as [string[], string][]) {
    const stderr = await badFlag(args);
    assert.ok(stderr.startsWith(`wstcp: ${flag}`), stderr);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
  }
});

// `--hearbeat 10` said "Unknown argument: hearbeat".
test('an unknown flag close to a known one suggests it', async () => {
  const stderr = await badFlag(['--hearbeat', '10', '127.0.0.1:0', '127.0.0.1:1']);
  assert.match(stderr, /^wstcp: unknown option --hearbeat \(did you mean --heartbeat\?\)\n/);
  assert.match(stderr, TRY_HELP);
});

// `--no-such-flag` was reported as "Unknown arguments: such-flag, suchFlag".
test('an unknown flag is named as written', async () => {
  const stderr = await badFlag(['--no-such-flag', '127.0.0.1:0', '127.0.0.1:1']);
  assert.match(stderr, /^wstcp: unknown option --no-such-flag\n/);
});

// `--heartbeat 127.0.0.1:6094 localhost:5905` took the listen address as the value and said "missing target".
test('a flag whose value is missing is named', async () => {
  assert.match(
    await badFlag(['--heartbeat', '127.0.0.1:6094', 'localhost:5905']),
    /^wstcp: --heartbeat needs a number/,
  );
  assert.match(await badFlag(['127.0.0.1:0', '127.0.0.1:1', '--cert']), /^wstcp: --cert needs a value/);
  assert.match(
    await badFlag(['--log-format', 'xml', '127.0.0.1:0', '127.0.0.1:1']),
    /^wstcp: --log-format must be one of/,
  );
});

// `--tokens file:/nope` printed Node's raw "ENOENT: no such file or directory, stat '/nope'" and "Try --help".
test('a missing file names its flag, exits 2 and is not followed by "Try --help"', async () => {
  for (const [args, flag] of [
    [['--tokens', 'file:/nonexistent-wstcp-tokens', '127.0.0.1:0'], '--tokens'],
    [['--log-file', '/nonexistent-wstcp-dir/wstcp.log', '127.0.0.1:0', '127.0.0.1:1'], '--log-file'],
    [['--cert', '/nonexistent-wstcp-cert.pem', '127.0.0.1:0', '127.0.0.1:1'], '--cert'],
    [['--tokens', 'dir:/nonexistent-wstcp-tokens', '127.0.0.1:0'], '--tokens'],
    [['--tokens', 'sockets:/nonexistent-wstcp-tokens', '127.0.0.1:0'], '--tokens'],
    [['--tokens', 'jwt:/nonexistent-wstcp-key', '127.0.0.1:0'], '--tokens'],
  ] as [string[], string][]) {
    const stderr = await badFlag(args);
    assert.ok(stderr.startsWith(`wstcp: ${flag}`), stderr);
    assert.match(stderr, /ENOENT/);
    assert.doesNotMatch(stderr, TRY_HELP);
  }
});

// `wstcp cert --days x` printed "wstcp: wstcp cert: --days must be 1-3650" and then "Try 'wstcp --help'".
test('wstcp cert errors are prefixed once', async () => {
  for (const args of [
    ['cert', '--days', 'x'],
    ['cert', '--nope'],
  ]) {
    const { code, stderr } = await runRaw(args);
    assert.equal(code, 2);
    assert.match(stderr, /^wstcp cert: (--days|unknown option --nope)/);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
  }
});

// A port in use said only "the address is in use": the user had to find the other process themselves.
test('a port in use names the process listening on it (exit 1)', async (t) => {
  const holder = createServer();
  holder.listen(0, '127.0.0.1');
  await once(holder, 'listening');
  t.after(() => holder.close());
  const port = (holder.address() as { port: number }).port;
  const run = await spawnWstcp([`127.0.0.1:${port}`, '127.0.0.1:1']);
  assert.equal(await run.exited, 1);
  assert.match(
    run.stderr(),
    new RegExp(`EADDRINUSE\\); \\S+ \\(node\\) \\(pid ${process.pid}\\) is listening on port ${port}`),
  );
  assert.doesNotMatch(run.stderr(), TRY_HELP);
});

// Port 80 as a normal user said "permission denied (EACCES)" and nothing about the capability.
test('a privileged port without the capability says how to get it or to choose a higher port', async (t) => {
  const unprivilegedFrom = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
  if (!(unprivilegedFrom > 1)) {
    t.skip('every port is unprivileged on this machine');
    return;
  }
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const { code, stderr } = await runRaw([`127.0.0.1:${unprivilegedFrom - 1}`, '127.0.0.1:1'], asNobody);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /EACCES\); .*CAP_NET_BIND_SERVICE.*port of 1024 or more/);
});

// A --unix-listen path in a missing directory said only "permission denied (EACCES)".
test('a --unix-listen socket that cannot be created names the directory to create', async () => {
  const { code, stderr } = await runRaw([
    '--unix-listen',
    '/nonexistent-wstcp-dir/wstcp.sock',
    '127.0.0.1:1',
  ]);
  assert.equal(code, 1);
  assert.match(stderr, /--unix-listen must exist and be writable .*\(\/nonexistent-wstcp-dir\)/);
});
