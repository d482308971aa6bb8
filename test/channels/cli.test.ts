/**
 * Channels through the real command line and front door: `--channels` alone or beside a bridge target,
 * the admission gates applied to subscribers (origin, connection limits), feeds, and the flags checked
 * at startup.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import WebSocket from 'ws';
import { parseArgs } from '../../src/cli.js';
import { ConfigError } from '../../src/errors.js';
import { startBridge, startEcho } from '../helpers/bridge.js';
import { EventStream, infoFields, publish, send, WsStream } from '../helpers/channels.js';
import { makeCa } from '../helpers/pki.js';
import { tempDir } from '../helpers/tmp.js';

function base(bridge: { port: number }): string {
  return `127.0.0.1:${bridge.port}`;
}

test('wstcp --channels HOST:PORT alone serves channels; other paths have no bridge target', async (t) => {
  const bridge = await startBridge(['--channels', '127.0.0.1:0']);
  t.after(() => bridge.close());
  const ws = new WsStream(`ws://${base(bridge)}/sub/alerts`);
  await ws.opened;
  t.after(() => ws.close());
  const answer = await publish(base(bridge), 'alerts', 'System alert');
  assert.equal(answer.status, 201);
  assert.equal((await ws.waitFor(1))[0]?.data.toString(), 'System alert');
  const other = new WsStream(`ws://${base(bridge)}/websockify`);
  await assert.rejects(other.opened, /status 404/);
});

test('--channels beside a bridge target: /pub and /sub are channels, other paths bridge to the target', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const bridge = await startBridge(['--channels', '127.0.0.1:0', `127.0.0.1:${echo.port}`]);
  t.after(() => bridge.close());
  const client = new WebSocket(`ws://${base(bridge)}/`);
  await once(client, 'open');
  client.send(Buffer.from('ping'));
  const [echoed] = (await once(client, 'message')) as [Buffer];
  assert.equal(echoed.toString(), 'ping');
  client.close();
  assert.equal((await publish(base(bridge), 'side', 'x')).status, 202);
  assert.equal(infoFields((await send(base(bridge), 'GET', '/pub/side')).text)['queued messages'], '1');
});

test('subscribers pass the bridge gates: --origin refuses another page, --max-connections counts subscribers', async (t) => {
  const bridge = await startBridge([
    '--channels',
    '127.0.0.1:0',
    '--origin',
    'http://good.test',
    '--max-connections',
    '1',
  ]);
  t.after(() => bridge.close());
  const bad = await send(base(bridge), 'GET', '/sub/g', undefined, {
    Origin: 'http://evil.test',
    Accept: 'text/event-stream',
  });
  assert.equal(bad.status, 403);
  const first = new EventStream(base(bridge), '/sub/g', { Origin: 'http://good.test' });
  await first.waitForOpen();
  t.after(() => first.close());
  const second = await send(base(bridge), 'GET', '/sub/g', undefined, { Origin: 'http://good.test' });
  assert.equal(second.status, 503);
});

// Fan-out writes a frame straight to a plain subscriber socket's descriptor (direct-write.ts). A TLS
// socket's handle reports the descriptor of the TCP socket under it: writing there would put the frame on
// the wire unencrypted and break the TLS session, so wss:// subscribers must keep going through TLS.
test('wss:// subscribers get every message through TLS, intact and in order', async (t) => {
  const ca = makeCa();
  const issued = ca.server();
  const files = tempDir(t);
  const bridge = await startBridge([
    '--channels',
    '127.0.0.1:0',
    '--cert',
    files.write('cert.pem', issued.cert),
    '--key',
    files.write('key.pem', issued.key),
  ]);
  t.after(() => bridge.close());
  const url = `wss://127.0.0.1:${bridge.port}`;
  const subscriber = new WebSocket(`${url}/sub/secure`, { ca: ca.cert, perMessageDeflate: false });
  const received: string[] = [];
  let closeCode: number | undefined;
  subscriber.on('message', (data) => received.push(String(data)));
  subscriber.on('close', (code) => {
    closeCode = code;
  });
  await once(subscriber, 'open');
  t.after(() => subscriber.terminate());
  const publisher = new WebSocket(`${url}/pub/secure`, { ca: ca.cert });
  await once(publisher, 'open');
  t.after(() => publisher.terminate());
  const sent = Array.from({ length: 20 }, (_, i) => `message ${i} ${'x'.repeat(i * 100)}`);
  for (const message of sent) publisher.send(message);
  const deadline = Date.now() + 5000;
  while (received.length < sent.length && closeCode === undefined && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(closeCode, undefined);
  assert.deepEqual(received, sent);
});

test('--channel-feed publishes a TCP target line by line to its channel', async (t) => {
  const server = createServer((socket) => socket.write('tick 1\ntick 2\n'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const bridge = await startBridge([
    '--channels',
    '127.0.0.1:0',
    '--channel-feed',
    `ticks=127.0.0.1:${port}`,
  ]);
  t.after(() => bridge.close());
  const stream = new EventStream(base(bridge), '/sub/ticks');
  t.after(() => stream.close());
  assert.deepEqual(
    (await stream.waitFor(2)).map((e) => e.data),
    ['tick 1', 'tick 2'],
  );
});

test('--channel-feed and --publish-allow repeat without swallowing the arguments after them', () => {
  // Both were `array: true` options: `--channel-feed a=HOST:PORT 127.0.0.1:6080` took the listen address
  // as a second feed.
  const config = parseArgs([
    '--channels=',
    '--channel-feed',
    'a=127.0.0.1:9001',
    '--publish-allow',
    '10.0.0.0/8',
    '--channel-feed',
    'b=cmd:cat',
    '--publish-allow',
    '192.168.0.0/16',
    '127.0.0.1:6080',
  ]);
  assert.deepEqual(
    config.channels?.feeds.map((feed) => feed.channel),
    ['a', 'b'],
  );
  assert.equal(config.channels?.publishAllow?.check('10.1.2.3'), true);
  assert.equal(config.channels?.publishAllow?.check('192.168.1.1'), true);
  assert.equal(config.listen.kind === 'tcp' && config.listen.port, 6080);
});

test('endpoint paths are kept in the form requests are matched in: slashes merged, none at the end', () => {
  const config = parseArgs([
    '--channels',
    '127.0.0.1:0',
    '--channel-pub-path',
    '//events//pub/',
    '--channel-sub-path',
    '/events/sub',
  ]);
  assert.equal(config.channels?.pubPath, '/events/pub');
  assert.equal(config.channels?.subPath, '/events/sub');
});

test('channel flags are checked at startup with messages naming the flag', () => {
  const bad: [string[], RegExp][] = [
    [['--channel-feed', 'x=127.0.0.1:1', '6080', '127.0.0.1:1'], /--channel-feed needs --channels/],
    [['--channels', '127.0.0.1:0', '--channel-first', 'soon'], /--channel-first/],
    [['--channels', '127.0.0.1:0', '--channel-buffer', '-1'], /--channel-buffer/],
    [['--channels', '127.0.0.1:0', '--publish-allow', '10.0.0.0/99'], /--publish-allow/],
    [['--channels', '127.0.0.1:0', '--channel-store', 'http://x'], /--channel-store/],
    [['--channels', '127.0.0.1:0', '--workers', '2'], /--channel-store/],
    [['--channels', '127.0.0.1:0', '--channel-pub-path', '/x', '--channel-sub-path', '/x'], /overlap/],
    [['--channels', '127.0.0.1:0', '--channel-pub-path', '/a/../pub'], /--channel-pub-path must be a path/],
    [['--channels', '127.0.0.1:0', '--channel-sub-path', 'sub'], /--channel-sub-path must be a path/],
  ];
  for (const [args, message] of bad) {
    assert.throws(
      () => parseArgs(args),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
      args.join(' '),
    );
  }
});

test('a channel store that cannot be opened stops the start (the bridge does not listen without its channels)', async () => {
  await assert.rejects(
    startBridge([
      '--channels',
      '127.0.0.1:0',
      '--channel-store',
      'rediss://127.0.0.1:1/0?ca=/nonexistent/ca.pem',
    ]),
    (err: unknown) => err instanceof ConfigError && /--channel-store: Redis CA file/.test(err.message),
  );
});
