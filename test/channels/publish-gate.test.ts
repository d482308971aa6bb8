/**
 * Who may publish: loopback only by default, --publish-allow networks, --publish-auth credentials.
 * The address rules are checked on the request's peer address; tests stay on loopback, so the
 * non-loopback cases give checkPublisher a request whose socket reports another address.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { singleCredential } from '../../src/auth/basic.js';
import { checkPublisher, parsePublishAllow } from '../../src/channels/publish-gate.js';
import { ConfigError } from '../../src/errors.js';
import { publish, startChannelServer } from '../helpers/channels.js';

function from(address: string, authorization?: string): IncomingMessage {
  return {
    socket: { remoteAddress: address },
    headers: authorization ? { authorization } : {},
  } as IncomingMessage;
}

const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;

test('by default only loopback may publish: another address gets 403 with a code and a reason', () => {
  const policy = { allow: undefined, credentials: undefined };
  assert.equal(checkPublisher(from('127.0.0.1'), policy), undefined);
  assert.equal(checkPublisher(from('::1'), policy), undefined);
  assert.equal(checkPublisher(from('::ffff:127.0.0.1'), policy), undefined);
  const refused = checkPublisher(from('192.0.2.7'), policy);
  assert.equal(refused?.status, 403);
  assert.equal(refused?.code, 'WSTCP_PUBLISH_FORBIDDEN');
  assert.match(refused?.message ?? '', /--publish-allow/);
});

test('--publish-allow admits the listed networks (IPv4, IPv6, v4-mapped) and nothing else', () => {
  const policy = { allow: parsePublishAllow(['10.0.0.0/8', '2001:db8::/32']), credentials: undefined };
  assert.equal(checkPublisher(from('10.1.2.3'), policy), undefined);
  assert.equal(checkPublisher(from('::ffff:10.9.9.9'), policy), undefined);
  assert.equal(checkPublisher(from('2001:db8::1'), policy), undefined);
  assert.equal(checkPublisher(from('11.0.0.1'), policy)?.status, 403);
  assert.throws(() => parsePublishAllow(['10.0.0.0/33']), ConfigError);
  assert.throws(() => parsePublishAllow(['not-an-address']), ConfigError);
});

test('--publish-auth: any address with the right credentials; none or wrong ones get 401 with a challenge', () => {
  const policy = { allow: undefined, credentials: singleCredential('pub:secret') };
  assert.equal(checkPublisher(from('192.0.2.7', basic('pub:secret')), policy), undefined);
  const missing = checkPublisher(from('127.0.0.1'), policy);
  assert.equal(missing?.status, 401);
  assert.match(missing?.headers['WWW-Authenticate'] ?? '', /^Basic /);
  assert.equal(checkPublisher(from('192.0.2.7', basic('pub:wrong')), policy)?.status, 401);
});

test('over HTTP: a refused publish is answered before the body is used, and logged without the credentials', async (t) => {
  const server = await startChannelServer({
    policy: { allow: undefined, credentials: singleCredential('pub:secret') },
  });
  t.after(() => server.close());
  const refused = await publish(server.base, 'gated', 'x', { Authorization: basic('pub:nope') });
  assert.equal(refused.status, 401);
  assert.equal(
    (await publish(server.base, 'gated', 'x', { Authorization: basic('pub:secret') })).status,
    202,
  );
  assert.ok(!server.logs.join('\n').includes('nope'));
  assert.ok(!server.logs.join('\n').includes(Buffer.from('pub:nope').toString('base64')));
});
