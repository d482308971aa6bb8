// The basic promise: bytes sent by a WebSocket client reach a TCP target and come back unchanged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closed, openClient, receive, startBridge, startEcho } from '../helpers/bridge.js';

test('echoes binary data through the bridge and closes 1000 when the client closes', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const bridge = await startBridge(['127.0.0.1:0', `127.0.0.1:${echo.port}`]);
  t.after(() => bridge.close());

  const ws = await openClient(bridge.url);
  assert.equal(ws.protocol, '');
  const payload = Buffer.from('hello, target');
  ws.send(payload);
  assert.deepEqual(await receive(ws, payload.length), payload);
  ws.close(1000);
  assert.equal((await closed(ws)).code, 1000);
});
