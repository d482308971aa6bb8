/**
 * 10,000 WebSocket subscribers on one channel (held by a child process, which has its own file
 * descriptors): every one gets every message, and the publisher's answers count them all.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { infoFields, publish, startChannelServer } from '../helpers/channels.js';
import { Swarm } from '../helpers/swarm.js';

test('10,000 subscribers on one channel each receive every message', async (t) => {
  const server = await startChannelServer();
  t.after(() => server.close());
  const swarm = await Swarm.start('127.0.0.1', server.port, '/sub/wide', 10_000);
  t.after(() => swarm.close());
  assert.equal(swarm.failed, 0);
  assert.equal(swarm.open, 10_000);
  assert.equal(server.service.stats().subscribers, 10_000);
  const payload = Buffer.alloc(64);
  const messages = 10;
  for (let i = 0; i < messages; i++) {
    payload.writeDoubleLE(performance.timeOrigin + performance.now(), 0);
    const answer = await publish(server.base, 'wide', payload, {
      'Content-Type': 'application/octet-stream',
    });
    assert.equal(answer.status, 201);
    assert.equal(infoFields(answer.text)['active subscribers'], '10000');
  }
  const stats = await swarm.statsWhen((s) => s.messages >= 10_000 * messages, 30_000);
  assert.equal(stats.messages, 10_000 * messages);
  assert.equal(stats.closed, 0);
});
