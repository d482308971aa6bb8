// The token resolver: where the token comes from (query, cookie, path, Host), and the 401/404/503 answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpError } from '../../src/errors.js';
import { Logger } from '../../src/observe/log.js';
import type { SocketTarget } from '../../src/targets/registry.js';
import { TokenResolver } from '../../src/tokens/resolver.js';
import { StoreUnavailableError, type TokenStore } from '../../src/tokens/store.js';
import { redactPathToken, tokenFromRequest } from '../../src/tokens/token-from-request.js';
import { tokenTag } from '../../src/tokens/token-tag.js';
import { handshake } from '../helpers/tokens.js';

function extract(path: string, headers: Record<string, string> = {}, hostToken = false) {
  const ctx = handshake(path, headers);
  return tokenFromRequest(ctx.url, ctx.req.headers, hostToken);
}

test('token sources, in order: query, cookie, path', () => {
  assert.equal(extract('/websockify?token=abc'), 'abc');
  assert.equal(extract('/websockify?token=a%2Fb%20c+d'), 'a/b c d');
  assert.equal(extract('/?token=&token=second&token=third'), 'second');
  assert.equal(extract('/?token=nl%0A'), 'nl');
  assert.equal(extract('/websockify', { cookie: 'x=1; token=fromcookie; y=2' }), 'fromcookie');
  assert.equal(extract('/websockify?token=q', { cookie: 'token=c' }), 'q');
  assert.equal(extract('/t/pathtok'), 'pathtok');
  assert.equal(extract('/vnc/desk%2D1/'), 'desk-1');
  assert.equal(extract('/websockify'), undefined, '"websockify" is not a token');
  assert.equal(extract('/prefix/websockify'), undefined);
  assert.equal(extract('/'), undefined);
  assert.equal(extract('/single'), undefined, 'one path segment never carries a token');
  assert.equal(extract('/t/%E0%A4%A'), undefined, 'a malformed escape is no token');
});

test('--host-token takes the Host header without port, and nothing else', () => {
  assert.equal(extract('/?token=ignored', { host: 'desk1.example.com:6080' }, true), 'desk1.example.com');
  assert.equal(extract('/', { host: 'desk2' }, true), 'desk2');
  assert.equal(extract('/', { host: '[::1]:6080' }, true), '::1');
});

/** A store backed by a Map, with programmable failures: the unit under test is the resolver. */
function mapStore(
  entries: Record<string, SocketTarget>,
  behaviour: 'ok' | 'down' | 'hang' = 'ok',
): TokenStore {
  return {
    description: 'test store',
    lookup: async (token) => {
      if (behaviour === 'down') throw new StoreUnavailableError('down for the test');
      if (behaviour === 'hang') return new Promise(() => {});
      return entries[token];
    },
    close: async () => {},
  };
}

async function refusal(promise: Promise<unknown>): Promise<HttpError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

test('401 missing, 404 unknown, 503 down or slow; the token never appears in log lines', async () => {
  const lines: string[] = [];
  const log = new Logger({ level: 'debug', sink: (l) => lines.push(l) });
  const secret = 'sup3r-s3cret-token';
  const target: SocketTarget = { kind: 'tcp', host: '10.0.0.1', port: 5900 };
  const options = { hostToken: false, lookupTimeoutMs: 200, log };
  const ok = new TokenResolver(mapStore({ [secret]: target }), options);
  assert.deepEqual(await ok.resolve(handshake(`/websockify?token=${secret}`)), target);

  const missing = await refusal(ok.resolve(handshake('/websockify')));
  assert.equal(missing.status, 401);
  assert.equal(missing.code, 'WSTCP_TOKEN_MISSING');
  const unknown = await refusal(ok.resolve(handshake('/websockify?token=other-secret')));
  assert.equal(unknown.status, 404);
  assert.equal(unknown.code, 'WSTCP_TOKEN_UNKNOWN');

  const down = await refusal(
    new TokenResolver(mapStore({}, 'down'), options).resolve(handshake(`/?token=${secret}`)),
  );
  assert.equal(down.status, 503);
  assert.equal(down.code, 'WSTCP_STORE_UNAVAILABLE');

  const started = Date.now();
  const slow = await refusal(
    new TokenResolver(mapStore({}, 'hang'), options).resolve(handshake(`/?token=${secret}`)),
  );
  assert.equal(slow.status, 503);
  assert.ok(Date.now() - started < 1000);

  assert.ok(lines.length >= 4);
  for (const line of lines) {
    assert.ok(!line.includes(secret) && !line.includes('other-secret'), line);
  }
  for (const err of [missing, unknown, down, slow]) assert.ok(!err.message.includes(secret));
});

test('paths carrying a token are logged with its tag instead', () => {
  assert.equal(redactPathToken('/t/s3cret'), `/t/${tokenTag('s3cret')}`);
  assert.equal(redactPathToken('/a/b/s3cret/'), `/a/b/${tokenTag('s3cret')}/`);
  assert.equal(redactPathToken('/t/s%2F3cret'), `/t/${tokenTag('s/3cret')}`);
  assert.equal(redactPathToken('/websockify'), '/websockify');
  assert.equal(redactPathToken('/x/websockify'), '/x/websockify');
  assert.equal(redactPathToken('/'), '/');
});
