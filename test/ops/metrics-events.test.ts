/**
 * The metrics that move with events besides sessions: token lookups by result, TLS handshakes and the
 * certificate's remaining life, missed heartbeats. Read from a real bridge's registry.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { expectRefusal, openClient, startBridge, startEcho } from '../helpers/bridge.js';
import { publish, WsStream } from '../helpers/channels.js';
import { rawClient } from '../helpers/frames.js';
import { samples } from '../helpers/metrics.js';
import { tempDir } from '../helpers/tmp.js';

test('token lookups are counted by result and timed', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const { dir } = tempDir(t);
  writeFileSync(join(dir, 'tokens'), `desk: 127.0.0.1:${echo.port}\n`);
  const running = await startBridge([
    '--metrics',
    '127.0.0.1:0',
    '--token-plugin',
    'TokenFile',
    '--token-source',
    join(dir, 'tokens'),
    '127.0.0.1:0',
  ]);
  t.after(() => running.close());
  (await openClient(`${running.url}/?token=desk`)).close();
  assert.equal((await expectRefusal(`${running.url}/?token=nope`)).status, 404);
  const values = samples(await running.bridge.metrics!.text());
  assert.equal(values.get('wstcp_token_lookups_total{result="found"}'), 1);
  assert.equal(values.get('wstcp_token_lookups_total{result="refused"}'), 1);
  assert.equal(values.get('wstcp_token_lookups_total{result="error"}'), 0);
  assert.equal(values.get('wstcp_token_lookup_duration_seconds_count'), 2);
  assert.equal(values.get('wstcp_handshakes_refused_total{code="WSTCP_TOKEN_UNKNOWN"}'), 1);
});

test('TLS handshakes by result and the certificate expiry in seconds', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const running = await startBridge(
    ['--metrics', '127.0.0.1:0', '--cert', 'auto', '127.0.0.1:0', `127.0.0.1:${echo.port}`],
    {
      secure: true,
    },
  );
  t.after(() => running.close());
  (await openClient(`${running.url}/`, undefined, { rejectUnauthorized: false })).close();
  // A client that refuses the self-signed certificate fails the handshake.
  await openClient(`${running.url}/`).then(
    () => assert.fail('an untrusted certificate was accepted'),
    () => {},
  );
  await sleep(100);
  const values = samples(await running.bridge.metrics!.text());
  assert.equal(values.get('wstcp_tls_handshakes_total{result="ok"}'), 1);
  assert.equal(values.get('wstcp_tls_handshakes_total{result="failed"}'), 1);
  const expiry = values.get('wstcp_tls_certificate_expiry_seconds') ?? 0;
  assert.ok(expiry > 86_400, `expiry ${expiry}`);
});

test('a client that never answers pings counts as a missed heartbeat', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const running = await startBridge([
    '--metrics',
    '127.0.0.1:0',
    '--heartbeat',
    '0.1',
    '127.0.0.1:0',
    `127.0.0.1:${echo.port}`,
  ]);
  t.after(() => running.close());
  const { socket } = await rawClient(running.port);
  socket.on('error', () => {});
  socket.resume();
  await once(socket, 'close');
  const values = samples(await running.bridge.metrics!.text());
  assert.equal(values.get('wstcp_heartbeats_missed_total'), 1);
});

test('--channels: channels, subscribers, published and delivered messages, fan-out passes', async (t) => {
  const running = await startBridge(['--metrics', '127.0.0.1:0', '--channels', '127.0.0.1:0']);
  t.after(() => running.close());
  const base = `127.0.0.1:${running.port}`;
  const ws = new WsStream(`ws://${base}/sub/alerts`);
  await ws.opened;
  t.after(() => ws.close());
  assert.equal((await publish(base, 'alerts', 'one')).status, 201);
  await ws.waitFor(1);
  const values = samples(await running.bridge.metrics!.text());
  assert.equal(values.get('wstcp_channels'), 1);
  assert.equal(values.get('wstcp_channel_subscribers'), 1);
  assert.equal(values.get('wstcp_channel_messages_published_total'), 1);
  assert.equal(values.get('wstcp_channel_deliveries_total'), 1);
  assert.equal(values.get('wstcp_channel_fanout_passes_total'), 1);
});
