// Handshakes Node's HTTP parser lets through but RFC 6455 section 4.1 and RFC 9112 refuse. Before, a body
// (chunked or Content-Length) got 101 and was then read as WebSocket frames (a request-smuggling shape),
// `GET *`, HTTP/1.0, Host-less upgrades and request lines with double spaces got 101, and CONNECT was dropped with no status and no log line.
// Each is now answered 400 (405 for CONNECT) with a handshake.refused line.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { type RunningBridge, startBridge, startEcho, type TcpTarget } from '../helpers/bridge.js';
import { handWritten, rawExchange, statusOf, UPGRADE_HEADERS } from '../helpers/http.js';

let echo: TcpTarget;
let bridge: RunningBridge;

before(async () => {
  echo = await startEcho();
  bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${echo.port}`]);
});
after(async () => {
  await bridge.close();
  await echo.close();
});

/** Sends `text` and returns the status and the handshake.refused lines it caused. */
async function exchange(text: string): Promise<{ status: number; reply: string; refusals: string[] }> {
  const before = bridge.logs.length;
  const reply = await rawExchange(bridge.port, text);
  const refusals = bridge.logs.slice(before).filter((line) => line.includes('handshake.refused'));
  return { status: statusOf(reply), reply, refusals };
}

const upgrade = (requestLine: string, headers: Record<string, string | undefined> = {}, body = '') =>
  handWritten(requestLine, { Host: 'x', ...UPGRADE_HEADERS, ...headers }, body);

// A masked binary frame carrying "hi": what a smuggled body would have delivered to the target.
const FRAME = Buffer.from([0x82, 0x82, 1, 2, 3, 4, 0x68 ^ 1, 0x69 ^ 2]).toString('latin1');

const refused: Array<[string, string]> = [
  [
    'a chunked body',
    upgrade('GET / HTTP/1.1', { 'Transfer-Encoding': 'chunked' }, `8\r\n${FRAME}\r\n0\r\n\r\n`),
  ],
  ['a Content-Length body', upgrade('GET / HTTP/1.1', { 'Content-Length': '8' }, FRAME)],
  ['the asterisk target', upgrade('GET * HTTP/1.1')],
  ['HTTP/1.0', upgrade('GET / HTTP/1.0')],
  ['no Host header', upgrade('GET / HTTP/1.1', { Host: undefined })],
  ['two Host headers', `${upgrade('GET / HTTP/1.1').slice(0, -2)}Host: y\r\n\r\n`],
  ['two spaces after the method', upgrade('GET  / HTTP/1.1')],
  ['two spaces before the version', upgrade('GET /  HTTP/1.1')],
];

for (const [what, text] of refused) {
  test(`an upgrade with ${what} -> 400 and a handshake.refused line`, async () => {
    const { status, refusals } = await exchange(text);
    assert.equal(status, 400);
    assert.equal(refusals.length, 1);
    assert.match(refusals[0]!, /code=WSTCP_BAD_HANDSHAKE/);
  });
}

test('an upgrade with Content-Length: 0 and an absolute-form target are still accepted', async () => {
  assert.equal((await exchange(upgrade('GET / HTTP/1.1', { 'Content-Length': '0' }))).status, 101);
  assert.equal((await exchange(upgrade('GET http://x/ HTTP/1.1'))).status, 101);
});

test('CONNECT -> 405 with Allow: GET and a handshake.refused line', async () => {
  const { status, reply, refusals } = await exchange(
    handWritten('CONNECT 127.0.0.1:22 HTTP/1.1', { Host: '127.0.0.1:22' }),
  );
  assert.equal(status, 405);
  assert.match(reply, /\r\nAllow: GET\r\n/i);
  assert.equal(refusals.length, 1);
  assert.match(refusals[0]!, /code=WSTCP_METHOD_NOT_ALLOWED/);
});

test('a request line that arrives a byte at a time, after empty lines, is still read whole: 101', async () => {
  const text = `\r\n${upgrade('GET / HTTP/1.1')}`;
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = connect(bridge.port, '127.0.0.1', async () => {
      for (const byte of text.slice(0, 40)) {
        socket.write(byte);
        await new Promise((resume) => setTimeout(resume, 2));
      }
      socket.write(text.slice(40));
    });
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(chunk.toString('latin1'));
    });
    socket.on('error', reject);
  });
  assert.equal(statusOf(reply), 101);
});
