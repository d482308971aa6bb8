// The same wire scenarios against the Python websockify (Debian 0.10) and wstcp: they must agree, except where
// ../shared/REFERENCE.md lists websockify as wrong; each such difference is asserted explicitly for both.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { test } from 'node:test';
import { closed, openClient, receive, startEcho } from '../helpers/bridge.js';
import { handshake, startSubjects } from '../helpers/subjects.js';

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

test('binary echo: 2 MiB in random frame sizes comes back intact through both, then 1000', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const subjects = await startSubjects(t, `127.0.0.1:${echo.port}`);
  if (!subjects) return;

  for (const subject of subjects) {
    const data = randomBytes(2 * 1024 * 1024);
    const ws = await openClient(subject.url, 'binary');
    assert.equal(ws.protocol, 'binary', subject.name);
    let textFrames = 0;
    ws.on('message', (_data: Buffer, isBinary: boolean) => {
      if (!isBinary) textFrames++;
    });
    const echoed = receive(ws, data.length, 20000);
    for (let offset = 0; offset < data.length; ) {
      const size = Math.min(data.length - offset, randomInt(1, 64 * 1024));
      ws.send(data.subarray(offset, offset + size));
      offset += size;
    }
    const got = await echoed;
    assert.equal(got.length, data.length, `${subject.name}: length`);
    assert.equal(sha256(got), sha256(data), `${subject.name}: data`);
    assert.equal(textFrames, 0, `${subject.name}: every frame to the client is binary`);
    ws.close(1000);
    assert.equal((await closed(ws)).code, 1000, `${subject.name}: close code`);
  }
});

test('subprotocol answers agree, except for a spaced list websockify rejects', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const subjects = await startSubjects(t, `127.0.0.1:${echo.port}`);
  if (!subjects) return;

  // [offered header, websockify's answer, wstcp's answer]: status and chosen protocol.
  type Answer = { status: number; protocol: string | undefined };
  const cases: [string | undefined, Answer, Answer][] = [
    [undefined, { status: 101, protocol: undefined }, { status: 101, protocol: undefined }],
    ['binary', { status: 101, protocol: 'binary' }, { status: 101, protocol: 'binary' }],
    ['binary,base64', { status: 101, protocol: 'binary' }, { status: 101, protocol: 'binary' }],
    ['binary, base64', { status: 101, protocol: 'binary' }, { status: 101, protocol: 'binary' }],
    // websockify splits on ',' without trimming, so ' binary' is not found (REFERENCE.md, Wire behaviour).
    ['base64, binary', { status: 400, protocol: undefined }, { status: 101, protocol: 'binary' }],
    // Base64 mode is gone from both: refused rather than accepted with no protocol.
    ['base64', { status: 400, protocol: undefined }, { status: 400, protocol: undefined }],
  ];
  for (const [offered, websockify, wstcp] of cases) {
    for (const subject of subjects) {
      const expected: Answer = subject.name === 'websockify' ? websockify : wstcp;
      const answer = await handshake(subject.url, offered);
      assert.deepEqual(
        { status: answer.status, protocol: answer.protocol },
        expected,
        `${subject.name}, offered ${JSON.stringify(offered)}`,
      );
    }
  }
});

test('text frames: websockify closes with 1003, wstcp forwards their bytes', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const subjects = await startSubjects(t, `127.0.0.1:${echo.port}`);
  if (!subjects) return;

  const text = 'text frame ☃';
  for (const subject of subjects) {
    const ws = await openClient(subject.url, 'binary');
    const messages: { data: Buffer; isBinary: boolean }[] = [];
    ws.on('message', (data: Buffer, isBinary: boolean) => messages.push({ data, isBinary }));
    if (subject.name === 'websockify') {
      // Known wrong (REFERENCE.md): this is what broke Xpra and other clients that send text.
      const closing = closed(ws);
      ws.send(text);
      assert.equal((await closing).code, 1003, 'websockify closes text frames with 1003');
      continue;
    }
    ws.send(text);
    const echoed = await receive(ws, Buffer.byteLength(text));
    assert.equal(echoed.toString('utf8'), text);
    assert.ok(
      messages.every((m) => m.isBinary),
      'the echo comes back as binary frames',
    );
    assert.equal(ws.readyState, ws.OPEN);
    ws.close(1000);
    assert.equal((await closed(ws)).code, 1000);
  }
});

test('plain HTTP GET: websockify answers 405, wstcp 426 Upgrade Required', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const subjects = await startSubjects(t, `127.0.0.1:${echo.port}`);
  if (!subjects) return;

  for (const subject of subjects) {
    const response = await fetch(subject.url.replace('ws://', 'http://'));
    await response.arrayBuffer();
    if (subject.name === 'websockify') {
      assert.equal(response.status, 405, 'websockify without --web');
    } else {
      // 426 names the fix: the client has to upgrade to WebSocket.
      assert.equal(response.status, 426, 'wstcp without --web');
      assert.equal(response.headers.get('upgrade'), 'websocket');
    }
  }
});
