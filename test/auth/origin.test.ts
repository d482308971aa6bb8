// --origin patterns: exact origins, default ports, wildcards for subdomains (never the bare domain or a
// look-alike suffix), and refusal of values that are not origins.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { originMatches, parseOriginPattern } from '../../src/auth/origin.js';
import { ConfigError } from '../../src/errors.js';

test('exact origins match scheme, host and port, with default ports folded', () => {
  const exact = parseOriginPattern('https://App.Example.com');
  assert.equal(originMatches(exact, 'https://app.example.com'), true);
  assert.equal(originMatches(exact, 'https://app.example.com:443'), true);
  assert.equal(originMatches(exact, 'http://app.example.com'), false);
  assert.equal(originMatches(exact, 'https://app.example.com:8443'), false);
  assert.equal(originMatches(exact, 'https://evil.app.example.com'), false);
  const local = parseOriginPattern('http://localhost:8080');
  assert.equal(originMatches(local, 'http://localhost:8080'), true);
  assert.equal(originMatches(local, 'http://localhost'), false);
});

test('a wildcard matches subdomains at any depth, not the bare domain or look-alikes', () => {
  const wild = parseOriginPattern('https://*.example.com');
  assert.equal(originMatches(wild, 'https://a.example.com'), true);
  assert.equal(originMatches(wild, 'https://a.b.example.com'), true);
  assert.equal(originMatches(wild, 'https://example.com'), false);
  assert.equal(originMatches(wild, 'https://badexample.com'), false);
  assert.equal(originMatches(wild, 'https://a.example.com.evil.net'), false);
  assert.equal(originMatches(wild, 'http://a.example.com'), false);
});

test('values that are not origins never match, and bad patterns are ConfigErrors', () => {
  const exact = parseOriginPattern('https://app.example.com');
  for (const value of [
    'null',
    '',
    'https://app.example.com/path',
    'https://user@app.example.com',
    'app.example.com',
  ]) {
    assert.equal(originMatches(exact, value), false, value);
  }
  for (const bad of ['app.example.com', 'https://', 'https://*', 'https://a.*.com', 'https://x.com/path']) {
    assert.throws(() => parseOriginPattern(bad), ConfigError, bad);
  }
  assert.equal(originMatches(parseOriginPattern('http://[::1]:8000'), 'http://[::1]:8000'), true);
});
