/**
 * A message's encoding built once and shared by its subscribers (src/channels/shared-encoding.ts): the
 * same buffer for every subscriber, a pass's batch end to end, and a batch's tail for a subscriber that
 * already has its first messages.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChannelMessage } from '../../src/channels/message.js';
import { SharedEncoding } from '../../src/channels/shared-encoding.js';
import { messagesOf } from '../helpers/channels.js';

function counting(): { encoding: SharedEncoding; encoded: string[] } {
  const encoded: string[] = [];
  const encoding = new SharedEncoding((message) => {
    encoded.push(message.data.toString());
    return Buffer.from(`<${message.data.toString()}>`);
  });
  return { encoding, encoded };
}

test('a message is encoded once, whoever asks and in whatever order', () => {
  const { encoding, encoded } = counting();
  const [a, b] = messagesOf(2) as [ChannelMessage, ChannelMessage];
  const first = encoding.of(a);
  assert.equal(encoding.of(a), first);
  assert.equal(encoding.of(b).toString(), '<m1>');
  assert.equal(encoding.of(a), first);
  assert.equal(first.toString(), '<m0>');
  assert.deepEqual(encoded, ['m0', 'm1']);
});

test('a batch is its messages end to end, built once; its tail is what follows `from`', () => {
  const { encoding, encoded } = counting();
  const batch = messagesOf(3);
  const whole = encoding.ofBatch(batch, 0);
  assert.equal(whole.toString(), '<m0><m1><m2>');
  assert.equal(encoding.ofBatch(batch, 0), whole);
  assert.equal(encoding.ofBatch(batch, 1).toString(), '<m1><m2>');
  assert.equal(encoding.ofBatch(batch, 2).toString(), '<m2>');
  assert.equal(encoding.ofBatch(batch, 0), whole);
  const next = batch.slice(1);
  assert.equal(encoding.ofBatch(next, 0).toString(), '<m1><m2>');
  assert.deepEqual(encoded, ['m0', 'm1', 'm2']);
});
