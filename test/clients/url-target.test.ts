// --target-from-url (issue 14): the client names its target in the URL, Neon's `?address=host:port` or a
// last path segment `/host:port`. The bridge must never become an open proxy: every spelling of an
// address is checked against --allow-target, and a real listener on a forbidden port must see no
// connection whatever the URL says.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { targetFromUrl } from '../../src/admission/url-target.js';
import { HttpError } from '../../src/errors.js';
import {
  openClient,
  type RunningBridge,
  receive,
  startBridge,
  startEcho,
  startTcpServer,
  type TcpTarget,
} from '../helpers/bridge.js';
import { handWritten, rawExchange, statusOf, UPGRADE_HEADERS } from '../helpers/http.js';
import { spawnWstcp } from '../helpers/process.js';

let allowed: TcpTarget;
let forbidden: TcpTarget;
let bridge: RunningBridge;

before(async () => {
  allowed = await startEcho();
  forbidden = await startTcpServer((socket) => socket.destroy());
  bridge = await startBridge([
    '--target-from-url',
    '--allow-target',
    `127.0.0.1:${allowed.port}`,
    '127.0.0.1:0',
  ]);
});
after(async () => {
  await bridge.close();
  await allowed.close();
  await forbidden.close();
});

/** Request targets, with A the allowed port and F the forbidden one, and the status each must get. */
function cases(A: number, F: number): Array<[string, number]> {
  return [
    // The forms clients use, allowed.
    [`/?address=127.0.0.1:${A}`, 101],
    [`/v1?address=127.0.0.1:${A}`, 101],
    [`/v1?address=127.0.0.1%3A${A}`, 101],
    [`/127.0.0.1:${A}`, 101],
    [`/emscripten/sockets/127.0.0.1:${A}`, 101],
    [`/127.0.0.1%3A${A}`, 101],
    [`/127.0.0.1:${F}?address=127.0.0.1:${A}`, 101], // the query wins over the path, never both
    // The forbidden port, however it is spelled: 403.
    [`/?address=127.0.0.1:${F}`, 403],
    [`/v1?address=127.0.0.1:${F}`, 403],
    [`/127.0.0.1:${F}`, 403],
    [`//127.0.0.1:${F}`, 403],
    [`/a//127.0.0.1:${F}`, 403],
    [`/a\\127.0.0.1:${F}`, 403],
    [`/127.0.0.1:${A}?address=127.0.0.1:${F}`, 403],
    [`/?address=127.0.0.1%3A${F}`, 403],
    [`/?address=%31%32%37.0.0.1:${F}`, 403],
    [`/?address=127.0.0.1:0${F}`, 400], // six digits
    [`/?address=127.0.0.1:${F}#127.0.0.1:${A}`, 403],
    [`/[::ffff:127.0.0.1]:${F}`, 403],
    [`/?address=::ffff:127.0.0.1:${F}`, 403],
    [`/?address=[::1]:${F}`, 403],
    [`/?address=::1:${F}`, 403],
    [`/0.0.0.0:${F}`, 403],
    [`/[::]:${F}`, 403],
    [`http://127.0.0.1:${A}/127.0.0.1:${F}`, 403],
    // Names never match IP rules (no DNS answer decides what is allowed): 403 even on the allowed port.
    [`/?address=localhost:${F}`, 403],
    [`/?address=localhost:${A}`, 403],
    [`/localhost.:${A}`, 403],
    [`/127.0.0.2:${A}`, 403],
    // Spellings that a laxer parser might read differently: 400, never a guess.
    [`/%2F127.0.0.1:${F}`, 400],
    [`/a%2F127.0.0.1:${F}`, 400],
    [`/a%5C127.0.0.1:${F}`, 400],
    [`/127.0.0.1:${F}/`, 400],
    [`/127.0.0.1:${F}%2F`, 400],
    [`/127.0.0.1%253A${F}`, 400],
    [`/?address=127.0.0.1%253A${F}`, 400],
    [`/?address=127.0.0.1:${A}&address=127.0.0.1:${F}`, 400],
    [`/?address=user@127.0.0.1:${F}`, 400],
    [`/user:pw@127.0.0.1:${F}`, 400],
    [`/?address=user%40127.0.0.1:${F}`, 400],
    [`/?address=http://127.0.0.1:${F}`, 400],
    [`/?address=127.0.0.1:${F}%00`, 400],
    [`/?address=127.0.0.1:${F}+`, 400],
    [`/?address=127.0.0.1%20:${F}`, 400],
    [`/?address=127.0.0.1.:${F}`, 400],
    [`/?address=127.1:${F}`, 400],
    [`/?address=2130706433:${F}`, 400],
    [`/?address=0x7f000001:${F}`, 400],
    [`/?address=0x7f.0.0.1:${F}`, 400],
    [`/?address=0177.0.0.1:${F}`, 400],
    [`/?address=[::1%25lo]:${F}`, 400],
    [`/?address=::1%25lo:${F}`, 400],
    [`/?address=[127.0.0.1]:${F}`, 400],
    [`/?address=127.0.0.1:65536`, 400],
    [`/?address=127.0.0.1:0`, 400],
    [`/?address=127.0.0.1:-${F}`, 400],
    [`/?address=127.0.0.1:${F}.0`, 400],
    [`/?address=127.0.0.1`, 400],
    [`/?address=`, 400],
    [`/?address=unix_socket:/run/x.sock`, 400],
    [`/127.0.0.1:${F};x`, 400],
    [`/127.0.0.1:${F}%20`, 400],
    [`/%EF%BD%8Cocalhost:${F}`, 400],
    [`/%E0%A4%A:${F}`, 400],
    [`/v1`, 400],
    [`/`, 400],
    [`/?ADDRESS=127.0.0.1:${F}`, 400],
  ];
}

test('every spelling of an address: allowed ones open, the rest 403/400, and nothing reaches the forbidden port', async () => {
  const failures: string[] = [];
  for (const [target, status] of cases(allowed.port, forbidden.port)) {
    const reply = await rawExchange(
      bridge.port,
      handWritten(`GET ${target} HTTP/1.1`, { Host: '127.0.0.1', ...UPGRADE_HEADERS }),
      100,
    );
    if (statusOf(reply) !== status) failures.push(`${target}: ${statusOf(reply)}, expected ${status}`);
  }
  assert.deepEqual(failures, []);
  assert.equal(forbidden.sockets.length, 0, 'a connection reached the forbidden port');
  assert.ok(allowed.sockets.length >= 7, 'the allowed forms reached the allowed port');
});

test('the path form with `binary` (emscripten style) relays to the named target', async () => {
  const ws = await openClient(`${bridge.url}/127.0.0.1:${allowed.port}`, ['binary']);
  assert.equal(ws.protocol, 'binary');
  ws.send(Buffer.from('hello'));
  assert.equal((await receive(ws, 5)).toString(), 'hello');
  ws.terminate();
});

test('a refused target gets 403 with the code and reason; an unparsable one 400 BAD_TARGET', () => {
  assert.throws(
    () => targetFromUrl(new URL('http://h/%2F127.0.0.1:22')),
    (err: unknown) => err instanceof HttpError && err.code === 'WSTCP_BAD_TARGET' && err.status === 400,
  );
  assert.deepEqual(targetFromUrl(new URL('http://h/v1?address=[::1]:5432')), {
    kind: 'tcp',
    host: '::1',
    port: 5432,
  });
});

test('/127.0.0.1:22 is refused with 403 when only :5432 is allowed (the log names the code)', async (t) => {
  const only5432 = await startBridge([
    '--target-from-url',
    '--allow-target',
    '127.0.0.1:5432',
    '--log-format',
    'json',
    '127.0.0.1:0',
  ]);
  t.after(() => only5432.close());
  const reply = await rawExchange(
    only5432.port,
    handWritten('GET /127.0.0.1:22 HTTP/1.1', { Host: '127.0.0.1', ...UPGRADE_HEADERS }),
  );
  assert.equal(statusOf(reply), 403);
  assert.match(reply, /--allow-target/);
  assert.ok(only5432.logs.some((line) => line.includes('WSTCP_TARGET_NOT_ALLOWED')));
});

test('--target-from-url without --allow-target: wstcp refuses to start, exit 2, one line', async () => {
  const proc = await spawnWstcp(['--target-from-url', '127.0.0.1:0']);
  assert.equal(await proc.exited, 2);
  // One line saying why (then the usual pointer to --help that every flag error gets).
  const [why, ...rest] = proc.stderr().trim().split('\n');
  assert.match(why!, /^wstcp: --target-from-url needs at least one --allow-target/);
  assert.deepEqual(rest, ["Try 'wstcp --help' for the options."]);
});

test('--target-from-url cannot be combined with a fixed target or a token store', async () => {
  for (const args of [
    ['--target-from-url', '--allow-target', '127.0.0.1:1', '127.0.0.1:0', '127.0.0.1:1'],
    ['--target-from-url', '--allow-target', '127.0.0.1:1', '--tokens', 'file:/dev/null', '127.0.0.1:0'],
  ]) {
    const proc = await spawnWstcp(args);
    assert.equal(await proc.exited, 2);
  }
});
