// --subprotocol and a token's own subprotocols (issue 14): MQTT clients offer `mqtt` and give up unless the
// server echoes it; wstcp answered "400 unsupported subprotocol mqtt" with no way to accept it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseArgs } from '../../src/cli.js';
import { ConfigError } from '../../src/errors.js';
import {
  expectRefusal,
  openClient,
  type RunningBridge,
  receive,
  startBridge,
  startEcho,
  type TcpTarget,
} from '../helpers/bridge.js';
import { tempDir } from '../helpers/tmp.js';

let echo: TcpTarget;
let plain: RunningBridge;
let mqtt: RunningBridge;

before(async () => {
  echo = await startEcho();
  plain = await startBridge(['127.0.0.1:0', `127.0.0.1:${echo.port}`]);
  mqtt = await startBridge([
    '--subprotocol',
    'mqtt',
    '--subprotocol',
    'mqttv3.1',
    '127.0.0.1:0',
    `127.0.0.1:${echo.port}`,
  ]);
});
after(async () => {
  await plain.close();
  await mqtt.close();
  await echo.close();
});

for (const [offered, answer] of [
  [['mqtt'], 'mqtt'],
  [['mqttv3.1', 'mqtt'], 'mqttv3.1'],
  [['chat', 'mqtt', 'binary'], 'mqtt'],
  [['binary', 'mqtt'], 'binary'],
] as const) {
  test(`--subprotocol mqtt/mqttv3.1: offered ${offered.join(',')} -> "${answer}" (the client's order)`, async () => {
    const ws = await openClient(mqtt.url, [...offered]);
    assert.equal(ws.protocol, answer);
    ws.send(Buffer.from('ping'));
    assert.equal((await receive(ws, 4)).toString(), 'ping');
    ws.terminate();
  });
}

test('without --subprotocol, mqtt is refused with 400 naming the flag to add', async () => {
  const refusal = await expectRefusal(plain.url, {}, ['mqtt']);
  assert.equal(refusal.status, 400);
  assert.match(refusal.body, /--subprotocol mqtt/);
});

test('with --subprotocol mqtt, an unlisted subprotocol (chat) is still refused', async () => {
  const refusal = await expectRefusal(mqtt.url, {}, ['chat']);
  assert.equal(refusal.status, 400);
  assert.match(refusal.body, /--subprotocol chat/);
});

test('with --permessage-deflate, a deflating client gets the accepted subprotocol too', async (t) => {
  const bridge = await startBridge([
    '--permessage-deflate',
    '--subprotocol',
    'mqtt',
    '127.0.0.1:0',
    `127.0.0.1:${echo.port}`,
  ]);
  t.after(() => bridge.close());
  const ws = await openClient(bridge.url, ['chat', 'mqtt'], { perMessageDeflate: true });
  assert.equal(ws.protocol, 'mqtt');
  assert.match(ws.extensions, /permessage-deflate/);
  ws.send(Buffer.from('zip'));
  assert.equal((await receive(ws, 3)).toString(), 'zip');
  ws.terminate();
});

test("a token line's subprotocol= option is accepted for that token only", async (t) => {
  const dir = tempDir(t);
  const file = dir.write(
    'tokens',
    `broker: 127.0.0.1:${echo.port} subprotocol=mqtt,mqttv3.1\ndesk: 127.0.0.1:${echo.port}\n`,
  );
  const bridge = await startBridge(['--tokens', `file:${file}`, '127.0.0.1:0']);
  t.after(() => bridge.close());
  const ws = await openClient(`${bridge.url}/?token=broker`, ['mqttv3.1']);
  assert.equal(ws.protocol, 'mqttv3.1');
  ws.terminate();
  const refusal = await expectRefusal(`${bridge.url}/?token=desk`, {}, ['mqtt']);
  assert.equal(refusal.status, 400);
});

test('--subprotocol refuses a name that is not an HTTP token', () => {
  assert.throws(() => parseArgs(['--subprotocol', 'a b', '6080', '127.0.0.1:1']), ConfigError);
  assert.throws(() => parseArgs(['--subprotocol', 'a,b', '6080', '127.0.0.1:1']), ConfigError);
});
