// What a client sees at the handshake: subprotocol answers, HTTP statuses for refusals (websockify drops the
// connection or sends 101 then 1011 instead), and the answers to plain HTTP requests.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import {
  expectRefusal,
  openClient,
  type RunningBridge,
  startBridge,
  startEcho,
  type TcpTarget,
} from '../helpers/bridge.js';
import { fetchRaw } from '../helpers/http.js';

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

for (const [offered, answer] of [
  [undefined, ''],
  [['binary'], 'binary'],
  [['base64', 'binary'], 'binary'],
  [['binary', 'base64'], 'binary'],
] as const) {
  test(`subprotocol: offered ${offered ? offered.join(',') : 'nothing'} -> answered "${answer}"`, async () => {
    const ws = await openClient(bridge.url, offered ? [...offered] : undefined);
    assert.equal(ws.protocol, answer);
    ws.terminate();
  });
}

test('subprotocol list with spaces ("base64, binary", which websockify 0.10 refuses) -> binary', async () => {
  const status = await rawHandshake(bridge.port, { 'Sec-WebSocket-Protocol': 'base64 ,  binary' });
  assert.match(status.head, /^HTTP\/1\.1 101/);
  assert.match(status.head, /sec-websocket-protocol: binary/i);
});

test('only base64 offered -> 400 naming the unsupported subprotocol', async () => {
  const refusal = await expectRefusal(bridge.url, {}, ['base64']);
  assert.equal(refusal.status, 400);
  assert.match(refusal.body, /base64/);
});

test('plain GET -> 426 saying this is a WebSocket endpoint; POST -> 405', async () => {
  const get = await fetchRaw(bridge.port, '/');
  assert.equal(get.status, 426);
  assert.equal(get.headers.upgrade, 'websocket');
  assert.match(get.body.toString(), /WebSocket endpoint/);
  const post = await fetchRaw(bridge.port, '/', { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET');
});

test('malformed handshakes -> 400, and the bridge keeps serving', async () => {
  const badKey = await rawHandshake(bridge.port, { 'Sec-WebSocket-Key': 'short' });
  assert.match(badKey.head, /^HTTP\/1\.1 400/);
  const badVersion = await rawHandshake(bridge.port, { 'Sec-WebSocket-Version': '7' });
  assert.match(badVersion.head, /^HTTP\/1\.1 400/);
  const garbage = await rawBytes(bridge.port, 'NOT HTTP AT ALL\r\n\r\n');
  assert.match(garbage, /^HTTP\/1\.1 400/);
  const ws = await openClient(bridge.url);
  ws.terminate();
});

test('a client that half-closes after its request still gets the answer (like printf ... | nc)', async () => {
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = connect(bridge.port, '127.0.0.1', () => socket.end('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    let got = '';
    socket.on('data', (chunk) => {
      got += chunk.toString('latin1');
    });
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
  assert.match(reply, /^HTTP\/1\.1 426/);
});

test('oversize request headers -> 431', async () => {
  const small = await startBridge(['127.0.0.1:0', `127.0.0.1:${echo.port}`, '--max-header-size', '1']);
  try {
    const reply = await rawHandshake(small.port, { 'X-Padding': 'x'.repeat(4096) });
    assert.match(reply.head, /^HTTP\/1\.1 431/);
  } finally {
    await small.close();
  }
});

test('unreachable target -> 502 with a one-line reason; nothing is upgraded', async () => {
  const closedTarget = await startEcho();
  await closedTarget.close();
  const dead = await startBridge(['127.0.0.1:0', `127.0.0.1:${closedTarget.port}`]);
  try {
    const refusal = await expectRefusal(dead.url);
    assert.equal(refusal.status, 502);
    assert.match(refusal.body, /ECONNREFUSED/);
    assert.equal(refusal.body.trim().split('\n').length, 1);
    assert.ok(dead.logs.some((line) => line.includes('handshake.refused') && line.includes('status=502')));
  } finally {
    await dead.close();
  }
});

test('a target that never answers -> 504 after --connect-timeout', async () => {
  const blackhole = await startBlackhole();
  const slow = await startBridge(['127.0.0.1:0', `127.0.0.1:${blackhole.port}`, '--connect-timeout', '0.5']);
  try {
    const started = Date.now();
    const refusal = await expectRefusal(slow.url);
    assert.equal(refusal.status, 504);
    assert.match(refusal.body, /did not answer within 0.5 s/);
    assert.ok(Date.now() - started >= 450, 'the timeout was honoured');
  } finally {
    await slow.close();
    blackhole.close();
  }
});

/**
 * A loopback port whose accept queue is full: a listener with backlog 0 that never accepts, and two
 * connections parked in its queue. The kernel then drops further SYNs, so a connect hangs.
 */
async function startBlackhole(): Promise<{ port: number; close(): void }> {
  const child = spawn(
    'python3',
    [
      '-c',
      'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\n' +
        'print(s.getsockname()[1],flush=True)\nsys.stdin.read()',
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const port = Number(line.toString().trim());
  const parked: ReturnType<typeof connect>[] = [];
  for (let i = 0; i < 3; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    parked.push(socket);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  return {
    port,
    close: () => {
      for (const socket of parked) socket.destroy();
      child.kill();
    },
  };
}

/** Sends a hand-written upgrade request (valid unless `overrides` break it) and returns the response head. */
async function rawHandshake(port: number, overrides: Record<string, string>) {
  const headers: Record<string, string> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...overrides,
  };
  let text = 'GET / HTTP/1.1\r\n';
  for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`;
  const reply = await rawBytes(port, `${text}\r\n`);
  return { head: reply.slice(0, reply.indexOf('\r\n\r\n')) };
}

/** Writes `text` to a fresh connection and resolves with what comes back before the first 300 ms pause. */
function rawBytes(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let got = '';
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      socket.destroy();
      resolve(got);
    };
    socket.on('data', (chunk) => {
      got += chunk.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(done, 300);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      done();
    });
    socket.on('error', reject);
  });
}
