// --inetd: as in websockify, the listening socket arrives as stdin (inetd, or systemd with StandardInput=socket)
// and there is no listen argument: `wstcp --inetd target`. The socket here is a real listening socket made
// by this test and handed to the child as its descriptor 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { parseArgs } from '../../src/cli.js';
import { ConfigError } from '../../src/errors.js';
import { closed, openClient, receive, startEcho } from '../helpers/bridge.js';
import { spawnWstcp, WSTCP_BIN } from '../helpers/process.js';

/** The descriptor of a listening net.Server (libuv keeps it on the handle; Node has no public accessor). */
function descriptorOf(server: ReturnType<typeof createServer>): number {
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  assert.ok(Number.isInteger(fd) && fd > 2, 'a listening socket descriptor');
  return fd;
}

test('--inetd serves on the listening socket it receives as stdin', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const listening = createServer();
  listening.listen(0, '127.0.0.1');
  await once(listening, 'listening');
  const address = listening.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const child = spawn(
    process.execPath,
    [WSTCP_BIN, '--log-format', 'json', '--inetd', `127.0.0.1:${echo.port}`],
    { stdio: [descriptorOf(listening), 'ignore', 'pipe'] },
  );
  const exited = once(child, 'exit');
  t.after(() => child.kill('SIGKILL'));
  // The child holds its own copy now; this process must not accept on it.
  await new Promise<void>((resolve) => listening.close(() => resolve()));

  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  const deadline = Date.now() + 10000;
  while (!stderr.includes('bridge.listening')) {
    assert.ok(Date.now() < deadline && child.exitCode === null, `wstcp did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const line = JSON.parse(stderr.split('\n').find((l) => l.includes('bridge.listening'))!);
  assert.equal(line.listen, `127.0.0.1:${port}`);

  const ws = await openClient(`ws://127.0.0.1:${port}`);
  ws.send(Buffer.from('through the inherited socket'));
  assert.equal((await receive(ws, 28)).toString(), 'through the inherited socket');
  const close = closed(ws);
  child.kill('SIGTERM');
  assert.equal((await close).code, 1001);
  assert.deepEqual(await exited, [0, null]);
});

test('--inetd without a socket on stdin stops the start with exit code 1 and one line', async () => {
  const wstcp = await spawnWstcp(['--inetd', '127.0.0.1:1']);
  assert.equal(await wstcp.exited, 1);
  assert.match(
    wstcp.stderr(),
    /^wstcp: cannot listen on descriptor 0 \(--inetd needs a listening socket there\)/,
  );
});

test('--inetd takes the target only, like websockify', () => {
  const config = parseArgs(['--inetd', 'localhost:5900']);
  assert.deepEqual(config.listen, { kind: 'fd', fd: 0 });
  assert.deepEqual(config.target, { kind: 'tcp', host: 'localhost', port: 5900 });
  const tokens = parseArgs(['--inetd', '--token-plugin', 'TokenFile', '--token-source', 'tokens.conf']);
  assert.equal(tokens.listen.kind, 'fd');
  for (const [argv, message] of [
    [['--inetd', '6080', 'localhost:5900'], /--inetd takes no listen address/],
    [['--inetd', '--unix-listen', '/tmp/x.sock', 'h:1'], /--inetd and --unix-listen/],
    [['--inetd', '--workers', '2', 'h:1'], /--workers cannot be combined with --inetd/],
  ] as [string[], RegExp][]) {
    assert.throws(
      () => parseArgs(argv),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
      argv.join(' '),
    );
  }
});
