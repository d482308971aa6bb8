// The startup line's browser URL: scheme from TLS, wildcard hosts as localhost, IPv6 bracketed,
// /vnc.html when a viewer is there, nothing for unix sockets or without web pages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Config } from '../../src/config/config.js';
import { viewerUrl } from '../../src/web/index.js';

type UrlConfig = Pick<Config, 'listen' | 'tls' | 'web'>;

function config(listen: Config['listen'], web: Partial<Config['web']>, tls = false): UrlConfig {
  return {
    listen,
    tls: tls ? ({ cert: 'auto' } as Config['tls']) : undefined,
    web: { dir: undefined, listing: false, novnc: false, ...web },
  };
}

test('viewerUrl builds the address to open', () => {
  const any = { kind: 'tcp', host: undefined, port: 0 } as const;
  assert.equal(viewerUrl(config(any, { novnc: true }), 6080), 'http://localhost:6080/vnc.html');
  assert.equal(viewerUrl(config(any, { novnc: true }, true), 6080), 'https://localhost:6080/vnc.html');
  assert.equal(
    viewerUrl(config({ kind: 'tcp', host: '::1', port: 0 }, { novnc: true }), 443),
    'http://[::1]:443/vnc.html',
  );
  assert.equal(
    viewerUrl(config({ kind: 'tcp', host: '0.0.0.0', port: 0 }, { novnc: true }), 80),
    'http://localhost:80/vnc.html',
  );
  assert.equal(
    viewerUrl(config({ kind: 'tcp', host: 'desk.example', port: 0 }, { dir: '/usr/share/novnc' }), 6080),
    'http://desk.example:6080/vnc.html',
  );
  assert.equal(viewerUrl(config(any, { dir: '/etc' }), 6080), 'http://localhost:6080/');
  assert.equal(viewerUrl(config(any, {}), 6080), undefined);
  assert.equal(viewerUrl(config({ kind: 'unix', path: '/run/w.sock' }, { novnc: true }), 0), undefined);
});
