// --allow-target: names, IP literals, ranges, CIDRs (IPv4 and IPv6) and unix sockets; everything else 403.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTargetPolicy, parseAllowRule } from '../../src/admission/allow-target.js';
import { ConfigError, HttpError } from '../../src/errors.js';
import { Logger } from '../../src/observe/log.js';
import type { SocketTarget } from '../../src/targets/registry.js';
import { handshake } from '../helpers/tokens.js';

const quiet = new Logger({ sink: () => {} });

function allowed(rules: string[], target: SocketTarget): boolean {
  const policy = createTargetPolicy(rules, quiet);
  assert.ok(policy);
  try {
    policy(target, handshake('/'));
    return true;
  } catch (err) {
    assert.ok(err instanceof HttpError);
    assert.equal(err.status, 403);
    assert.equal(err.code, 'WSTCP_TARGET_NOT_ALLOWED');
    return false;
  }
}

const tcp = (host: string, port: number): SocketTarget => ({ kind: 'tcp', host, port });

test('no rules: no policy (every target allowed)', () => {
  assert.equal(createTargetPolicy([], quiet), undefined);
});

test('host names match by name only, case-insensitively', () => {
  const rules = ['Desk1.Internal:5900', 'vnc.internal:*'];
  assert.ok(allowed(rules, tcp('desk1.internal', 5900)));
  assert.ok(allowed(rules, tcp('DESK1.internal.', 5900)));
  assert.ok(!allowed(rules, tcp('desk1.internal', 5901)));
  assert.ok(allowed(rules, tcp('vnc.internal', 22)));
  assert.ok(!allowed(rules, tcp('10.0.0.1', 5900)));
});

test('IP literals, ranges and CIDRs, IPv4 and IPv6', () => {
  const rules = [
    '10.0.0.5:5900-5909',
    '192.168.0.0/16',
    '172.16.0.0/12:5900',
    '[fd00::1]:5900',
    'fd10::/16:6000-6001',
  ];
  assert.ok(allowed(rules, tcp('10.0.0.5', 5905)));
  assert.ok(!allowed(rules, tcp('10.0.0.5', 5910)));
  assert.ok(!allowed(rules, tcp('10.0.0.6', 5900)));
  assert.ok(allowed(rules, tcp('192.168.44.1', 22)));
  assert.ok(allowed(rules, tcp('172.20.1.1', 5900)));
  assert.ok(!allowed(rules, tcp('172.32.0.1', 5900)));
  assert.ok(allowed(rules, tcp('fd00::1', 5900)));
  assert.ok(allowed(rules, tcp('fd00:0:0::1', 5900)));
  assert.ok(allowed(rules, tcp('fd10:1::9', 6001)));
  assert.ok(!allowed(rules, tcp('fd11::9', 6001)));
  assert.ok(allowed(rules, tcp('::ffff:192.168.1.1', 80)), 'IPv4-mapped IPv6 matches the IPv4 rule');
  assert.ok(!allowed(rules, tcp('localhost', 5900)), 'a name never matches an IP rule');
  assert.ok(!allowed(rules, tcp('192.168.1.1.nip.io', 5900)));
});

test('unix sockets: exact path or a directory prefix', () => {
  const rules = ['unix_socket:/run/vnc/', 'unix_socket:/tmp/one.sock'];
  assert.ok(allowed(rules, { kind: 'unix', path: '/run/vnc/alice' }));
  assert.ok(allowed(rules, { kind: 'unix', path: '/tmp/one.sock' }));
  assert.ok(!allowed(rules, { kind: 'unix', path: '/run/vnc/../docker.sock' }));
  assert.ok(!allowed(rules, { kind: 'unix', path: '/run/vncx/alice' }));
  assert.ok(!allowed(['127.0.0.0/8'], { kind: 'unix', path: '/run/vnc/alice' }));
  assert.ok(!allowed(rules, tcp('127.0.0.1', 5900)));
});

test('malformed rules are ConfigErrors naming the rule', () => {
  for (const bad of [
    'desk1',
    '10.0.0.0/33',
    'h:0',
    'h:9-1',
    'h:70000',
    ':5900',
    'fd00::/129',
    'unix_socket:rel',
    'a b:1',
  ]) {
    assert.throws(
      () => parseAllowRule(bad),
      (err: unknown) => err instanceof ConfigError && err.message.includes(bad),
      bad,
    );
  }
});
