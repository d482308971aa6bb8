// BaseTokenAPI / JSONTokenApi against a real HTTP server: substitution and URL-encoding of the token,
// both body formats, 404 -> unknown, 5xx / garbled / slow -> the store is unavailable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { TokenApiStore } from '../../src/tokens/api-store.js';
import { StoreUnavailableError } from '../../src/tokens/store.js';
import { startHttp } from '../helpers/http.js';

test('text and JSON answers, token URL-encoded into %s and {token}', async (t) => {
  const api = await startHttp(t, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const token = url.searchParams.get('t') ?? decodeURIComponent(url.pathname.split('/').pop() ?? '');
    if (token === 'a b&c/d') return res.end('10.0.0.1:5900\n');
    if (token === 'json') return res.end('{"host": "10.0.0.2", "port": 5901}');
    if (token === 'json-string-port') return res.end('{"host": "10.0.0.3", "port": "5902"}');
    if (token === 'garbage') return res.end('<html>oops</html>');
    if (token === 'huge') return res.end(Buffer.alloc(8 * 1024 * 1024, 'a'));
    if (token === 'boom') {
      res.statusCode = 500;
      return res.end('internal');
    }
    res.statusCode = 404;
    res.end('no');
  });
  const base = `http://127.0.0.1:${api.port}`;
  const text = new TokenApiStore({ url: `${base}/lookup?t=%s`, format: 'text', timeoutMs: 2000 });
  assert.deepEqual(await text.lookup('a b&c/d'), { kind: 'tcp', host: '10.0.0.1', port: 5900 });
  assert.equal(api.requests.at(-1), '/lookup?t=a%20b%26c%2Fd');
  assert.equal(await text.lookup('nope'), undefined);
  await assert.rejects(text.lookup('boom'), StoreUnavailableError);
  await assert.rejects(text.lookup('garbage'), StoreUnavailableError);
  await assert.rejects(text.lookup('huge'), StoreUnavailableError, 'an oversized answer is not a target');

  const json = new TokenApiStore({ url: `${base}/t/%s`, format: 'json', timeoutMs: 2000 });
  assert.deepEqual(await json.lookup('json'), { kind: 'tcp', host: '10.0.0.2', port: 5901 });
  assert.deepEqual(await json.lookup('json-string-port'), { kind: 'tcp', host: '10.0.0.3', port: 5902 });
  await assert.rejects(json.lookup('a b&c/d'), StoreUnavailableError, 'a text body is not JSON');

  const auto = new TokenApiStore({ url: `${base}/t/{token}`, format: 'auto', timeoutMs: 2000 });
  assert.deepEqual(await auto.lookup('json'), { kind: 'tcp', host: '10.0.0.2', port: 5901 });
  assert.deepEqual(await auto.lookup('a b&c/d'), { kind: 'tcp', host: '10.0.0.1', port: 5900 });
  assert.ok(!auto.description.includes('json'));
});

test('a slow API is unavailable at the timeout; an unreachable one at once', async (t) => {
  const api = await startHttp(t, () => {
    // Never answers; the server's close at the end of the test ends the request.
  });
  const slow = new TokenApiStore({
    url: `http://127.0.0.1:${api.port}/?t=%s`,
    format: 'text',
    timeoutMs: 300,
  });
  const started = Date.now();
  await assert.rejects(slow.lookup('x'), StoreUnavailableError);
  const took = Date.now() - started;
  assert.ok(took >= 250 && took < 2000, `took ${took} ms`);

  const closed = new TokenApiStore({ url: 'http://127.0.0.1:1/?t=%s', format: 'text', timeoutMs: 2000 });
  await assert.rejects(closed.lookup('x'), StoreUnavailableError);
});

test('bad API URLs are ConfigErrors', () => {
  assert.throws(() => new TokenApiStore({ url: 'ftp://h/%s', format: 'text', timeoutMs: 1 }), ConfigError);
  assert.throws(
    () => new TokenApiStore({ url: 'http://h/no-placeholder', format: 'text', timeoutMs: 1 }),
    ConfigError,
  );
  assert.throws(() => new TokenApiStore({ url: 'not a url %s', format: 'text', timeoutMs: 1 }), ConfigError);
});
