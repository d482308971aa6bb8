// Scripts written for websocketd read its CGI variables: the same names and values, and nothing of the
// bridge's own environment beyond --pass-env.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cgiEnvironment,
  passedEnvironment,
  type RequestFacts,
  serverOf,
} from '../../src/targets/command/environment.js';

const request: RequestFacts = {
  method: 'GET',
  url: '/chat/room%201?name=ann&x=1',
  httpVersion: '1.1',
  rawHeaders: [
    'Host',
    'example.org:8080',
    'Upgrade',
    'websocket',
    'X-Forwarded-For',
    '10.0.0.1',
    'x-forwarded-for',
    '10.0.0.2',
    'X-Multi-Line',
    'a\r\n b',
  ],
  remoteAddress: '127.0.0.1',
  remotePort: 40000,
  remoteHost: '127.0.0.1',
  secure: false,
};
const settings = { serverSoftware: 'wstcp/1.0', passed: { PATH: '/bin' }, uniqueId: '42' };

test('every CGI variable websocketd sets is there, with its value', () => {
  const env = cgiEnvironment(request, { scriptName: '/chat', pathInfo: '/room 1' }, settings);
  assert.deepEqual(
    { ...env },
    {
      SERVER_SOFTWARE: 'wstcp/1.0',
      PATH: '/bin',
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_HOST: '127.0.0.1',
      SERVER_NAME: 'example.org',
      SERVER_PORT: '8080',
      SERVER_PROTOCOL: 'HTTP/1.1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      REQUEST_METHOD: 'GET',
      SCRIPT_NAME: '/chat',
      PATH_INFO: '/room 1',
      PATH_TRANSLATED: '/chat/room 1',
      QUERY_STRING: 'name=ann&x=1',
      AUTH_TYPE: '',
      CONTENT_LENGTH: '',
      CONTENT_TYPE: '',
      REMOTE_IDENT: '',
      REMOTE_USER: '',
      UNIQUE_ID: '42',
      REMOTE_PORT: '40000',
      REQUEST_URI: '/chat/room%201?name=ann&x=1',
      HTTP_UPGRADE: 'websocket',
      HTTP_X_FORWARDED_FOR: '10.0.0.1, 10.0.0.2',
      HTTP_X_MULTI_LINE: 'a   b',
    },
  );
});

test('HTTPS=on only over TLS, and then a Host without port means 443', () => {
  const env = cgiEnvironment(
    { ...request, secure: true, rawHeaders: ['Host', 'example.org'] },
    { scriptName: '/', pathInfo: '/' },
    settings,
  );
  assert.equal(env.HTTPS, 'on');
  assert.equal(env.SERVER_PORT, '443');
  assert.equal(cgiEnvironment(request, { scriptName: '/', pathInfo: '' }, settings).HTTPS, undefined);
});

test('a request cannot override the CGI variables: its headers only ever become HTTP_*', () => {
  const env = cgiEnvironment(
    { ...request, rawHeaders: ['Remote-Addr', '6.6.6.6', 'Path', '/evil'] },
    { scriptName: '/', pathInfo: '' },
    settings,
  );
  assert.equal(env.REMOTE_ADDR, '127.0.0.1');
  assert.equal(env.PATH, '/bin');
  assert.equal(env.HTTP_REMOTE_ADDR, '6.6.6.6');
  assert.equal(env.HTTP_PATH, '/evil');
});

test('--pass-env takes only the named variables, never HTTPS, and drops empty ones', () => {
  const from = { PATH: '/usr/bin', SECRET: 'x', HTTPS: 'on', EMPTY: '  ', MULTI: 'a\nb ' };
  assert.deepEqual(
    { ...passedEnvironment('PATH,HTTPS,EMPTY,MULTI,MISSING', from) },
    {
      PATH: '/usr/bin',
      MULTI: 'a b',
    },
  );
  assert.deepEqual({ ...passedEnvironment('PATH,LD_LIBRARY_PATH', from) }, { PATH: '/usr/bin' });
});

test('SERVER_NAME and SERVER_PORT split the Host header as Go does', () => {
  const cases: [string, boolean, string, string][] = [
    ['example.org:8080', false, 'example.org', '8080'],
    ['example.org', false, 'example.org', '80'],
    ['example.org', true, 'example.org', '443'],
    ['[::1]:9000', false, '::1', '9000'],
    ['[::1]', false, '[::1]', '80'],
    ['::1', false, '', ''],
    ['host:', false, 'host', ''],
    ['[::1', false, '', ''],
    ['', false, '', '80'],
  ];
  for (const [host, secure, server, port] of cases) {
    assert.deepEqual(serverOf(host, secure), { server, port }, host);
  }
});
