// The client's address parsing: the server URL (%h/%p, userinfo, what logs may show), NO_PROXY matching and
// the local listen addresses of `wstcp forward`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLocal } from '../../src/client/cli.js';
import { bypassesProxy, chooseProxy } from '../../src/client/proxy-choice.js';
import { parseServerUrl } from '../../src/client/server-url.js';
import { ConfigError } from '../../src/errors.js';

test('%h and %p are filled percent-encoded; real percent escapes are left alone', () => {
  const server = parseServerUrl('wss://gw.example/ssh%2Fx?token=%h&port=%p', { host: 'a b&c', port: '22' });
  assert.equal(server.url.href, 'wss://gw.example/ssh%2Fx?token=a%20b%26c&port=22');
  assert.throws(() => parseServerUrl('wss://gw.example/?token=%h'), ConfigError);
});

test('userinfo becomes a Basic header and leaves the URL; logs see no query values', () => {
  const server = parseServerUrl('https://al%40ice:p%3Ass@gw.example:8443/path?token=s3cret&x=1');
  assert.equal(server.url.href, 'wss://gw.example:8443/path?token=s3cret&x=1');
  assert.equal(server.authorization, `Basic ${Buffer.from('al@ice:p:ss').toString('base64')}`);
  assert.equal(server.display, 'wss://gw.example:8443/path?token=***&x=***');
  assert.equal(server.port, 8443);
  assert.equal(parseServerUrl('ws://[::1]/').host, '::1');
  assert.throws(() => parseServerUrl('ftp://gw.example/'), ConfigError);
});

test('NO_PROXY: names match themselves and their subdomains, ports and * are honoured', () => {
  assert.ok(bypassesProxy('db.corp.example', 443, 'corp.example'));
  assert.ok(bypassesProxy('db.corp.example', 443, '.corp.example'));
  assert.ok(!bypassesProxy('notcorp.example', 443, 'corp.example'));
  assert.ok(bypassesProxy('gw.example', 8443, 'gw.example:8443'));
  assert.ok(!bypassesProxy('gw.example', 443, 'gw.example:8443'));
  assert.ok(bypassesProxy('::1', 80, '[::1]'));
  assert.ok(bypassesProxy('anything', 1, 'x, *'));
  const server = parseServerUrl('wss://gw.example/');
  assert.equal(
    chooseProxy(server, undefined, { HTTPS_PROXY: 'http://p:3128', NO_PROXY: 'example' }),
    undefined,
  );
  assert.equal(chooseProxy(server, undefined, { HTTPS_PROXY: 'p:3128' })?.display, 'p:3128');
  assert.equal(
    chooseProxy(server, undefined, { HTTP_PROXY: 'http://p:3128' }),
    undefined,
    'wss:// reads HTTPS_PROXY',
  );
  assert.throws(() => chooseProxy(server, 'socks5://p:1080', {}), ConfigError);
});

test('forward listen addresses: a port alone is loopback; hosts, [v6] and unix: paths', () => {
  assert.deepEqual(parseLocal('15432'), { kind: 'tcp', host: '127.0.0.1', port: 15432 });
  assert.deepEqual(parseLocal('0.0.0.0:80'), { kind: 'tcp', host: '0.0.0.0', port: 80 });
  assert.deepEqual(parseLocal('[::1]:5900'), { kind: 'tcp', host: '::1', port: 5900 });
  assert.deepEqual(parseLocal('unix:/run/x.sock'), { kind: 'unix', path: '/run/x.sock' });
  assert.throws(() => parseLocal('70000'), ConfigError);
  assert.throws(() => parseLocal('ws://x/'), ConfigError);
});
