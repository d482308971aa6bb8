// --web DIR: what is served, with which headers, and what is refused (traversal in every spelling,
// symlinks out of the root, dotfiles, listings, methods).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { Logger, silentLogger } from '../../src/observe/log.js';
import { createWebHandler } from '../../src/web/index.js';
import { fetchRaw, serveHandler } from '../helpers/http.js';

function makeSite(): { dir: string; outside: string; cleanup: () => void } {
  const base = mkdtempSync(join(tmpdir(), 'wstcp-web-'));
  const dir = join(base, 'site');
  const outside = join(base, 'secret');
  mkdirSync(join(dir, 'app', 'styles'), { recursive: true });
  mkdirSync(join(dir, 'docs'));
  mkdirSync(join(dir, 'noindex'));
  mkdirSync(outside);
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>home</title>');
  writeFileSync(join(dir, 'vnc.html'), '<!doctype html><title>vnc</title>');
  writeFileSync(join(dir, 'app', 'ui.js'), 'export const ui = 1;\n');
  writeFileSync(join(dir, 'app', 'styles', 'base.css'), 'body { color: red }\n');
  writeFileSync(join(dir, 'app', 'data.json'), '{"a":1}\n');
  writeFileSync(join(dir, 'app', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dir, 'app', 'a file.txt'), 'spaced\n');
  writeFileSync(join(dir, 'docs', 'index.html'), '<!doctype html><title>docs</title>');
  writeFileSync(join(dir, 'noindex', 'x.txt'), 'x\n');
  writeFileSync(join(dir, 'noindex', '.htpasswd'), 'user:hash\n');
  writeFileSync(join(dir, '.env'), 'SECRET=1\n');
  writeFileSync(join(outside, 'passwd'), 'root:x:0:0\n');
  symlinkSync(join(outside, 'passwd'), join(dir, 'escape.txt'));
  symlinkSync(outside, join(dir, 'escape-dir'));
  symlinkSync('vnc.html', join(dir, 'vnc_auto.html'));
  writeFileSync(join(dir, 'app', 'novnc_proxy'), '#!/bin/sh\n');
  execFileSync('mkfifo', [join(dir, 'app', 'pipe.txt')]);
  return { dir, outside, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

test('serves files with their content types, index files and trailing-slash redirects', async (t) => {
  const site = makeSite();
  t.after(site.cleanup);
  const port = await serveHandler(
    t,
    createWebHandler({ dir: site.dir, listing: false, novnc: false }, silentLogger)!,
  );

  const cases: [string, string, string][] = [
    ['/', 'text/html; charset=utf-8', 'home'],
    ['/vnc.html?path=websockify%3Ftoken%3Dabc', 'text/html; charset=utf-8', 'vnc'],
    ['/app/ui.js', 'application/javascript; charset=utf-8', 'ui = 1'],
    ['/app/styles/base.css', 'text/css; charset=utf-8', 'color: red'],
    ['/app/data.json', 'application/json; charset=utf-8', '"a":1'],
    ['/app/logo.svg', 'image/svg+xml', '<svg'],
    ['/app/a%20file.txt', 'text/plain; charset=utf-8', 'spaced'],
    ['/docs/', 'text/html; charset=utf-8', 'docs'],
    ['/vnc_auto.html', 'text/html; charset=utf-8', 'vnc'],
    ['/app/novnc_proxy', 'application/octet-stream', 'bin/sh'],
  ];
  for (const [path, type, text] of cases) {
    const reply = await fetchRaw(port, path);
    assert.equal(reply.status, 200, path);
    assert.equal(reply.headers['content-type'], type, path);
    assert.match(reply.body.toString(), new RegExp(text), path);
    assert.equal(reply.headers['x-content-type-options'], 'nosniff', path);
  }

  const redirect = await fetchRaw(port, '/docs?x=1');
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.location, '/docs/?x=1');
});

test('refuses traversal, symlinks out of the root and dotfiles, in plain and encoded forms', async (t) => {
  const site = makeSite();
  t.after(site.cleanup);
  const port = await serveHandler(
    t,
    createWebHandler({ dir: site.dir, listing: true, novnc: false }, silentLogger)!,
  );

  const refused: [string, number][] = [
    ['/../secret/passwd', 404],
    ['/app/../../secret/passwd', 404],
    ['/%2e%2e/secret/passwd', 404],
    ['/%2E%2E%2Fsecret%2Fpasswd', 404],
    ['/app/%2e%2e%2f%2e%2e%2fsecret/passwd', 404],
    ['/..%2f..%2f..%2fetc%2fpasswd', 404],
    ['/escape.txt', 404],
    ['/escape-dir/passwd', 404],
    ['/escape-dir/', 404],
    ['/.env', 404],
    ['/%2eenv', 404],
    ['/%00', 400],
    ['/app%5c..%5c..%5csecret%5cpasswd', 400],
    ['/%E0%A4%A', 400],
    ['/%', 400],
    ['*', 400],
    ['/missing.html', 404],
    // A FIFO would block the reader forever.
    ['/app/pipe.txt', 404],
  ];
  for (const [path, status] of refused) {
    const reply = await fetchRaw(port, path);
    assert.equal(reply.status, status, path);
    assert.equal(reply.headers['content-type'], 'text/plain; charset=utf-8', path);
    assert.doesNotMatch(reply.body.toString(), /root:x|SECRET/, path);
    assert.ok(reply.body.length < 80, `${path}: short body`);
  }
  const notFound = await fetchRaw(port, '/escape.txt');
  assert.equal(notFound.headers['x-wstcp-error'], 'WSTCP_WEB_NOT_FOUND');
  const bad = await fetchRaw(port, '/%');
  assert.equal(bad.headers['x-wstcp-error'], 'WSTCP_WEB_BAD_PATH');
});

test('directory listings are off by default and on with listing', async (t) => {
  const site = makeSite();
  t.after(site.cleanup);
  const off = await serveHandler(
    t,
    createWebHandler({ dir: site.dir, listing: false, novnc: false }, silentLogger)!,
  );
  const on = await serveHandler(
    t,
    createWebHandler({ dir: site.dir, listing: true, novnc: false }, silentLogger)!,
  );

  const hidden = await fetchRaw(off, '/noindex/');
  assert.equal(hidden.status, 404);
  assert.doesNotMatch(hidden.body.toString(), /x\.txt/);
  assert.equal((await fetchRaw(off, '/app/')).status, 404);

  const listed = await fetchRaw(on, '/noindex/');
  assert.equal(listed.status, 200);
  assert.match(listed.headers['content-type'] as string, /^text\/html/);
  assert.match(listed.body.toString(), /x\.txt/);
  // Dotfiles stay out of listings too.
  assert.doesNotMatch(listed.body.toString(), /htpasswd/);
  const app = await fetchRaw(on, '/app/');
  assert.match(app.body.toString(), /ui\.js/);
});

test('HEAD, caching headers, conditional requests and ranges', async (t) => {
  const site = makeSite();
  t.after(site.cleanup);
  const port = await serveHandler(
    t,
    createWebHandler({ dir: site.dir, listing: false, novnc: false }, silentLogger)!,
  );

  const get = await fetchRaw(port, '/app/ui.js');
  const etag = get.headers.etag as string;
  const lastModified = get.headers['last-modified'] as string;
  assert.match(etag, /^"[0-9a-f]{40}"$/);
  assert.ok(!Number.isNaN(Date.parse(lastModified)));
  assert.equal(get.headers['cache-control'], 'no-cache');
  assert.equal(get.headers['content-length'], String(get.body.length));

  const head = await fetchRaw(port, '/app/ui.js', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(head.headers['content-length'], String(get.body.length));
  assert.equal(head.headers.etag, etag);
  assert.equal(head.headers['content-type'], 'application/javascript; charset=utf-8');

  const byEtag = await fetchRaw(port, '/app/ui.js', { headers: { 'If-None-Match': etag } });
  assert.equal(byEtag.status, 304);
  assert.equal(byEtag.body.length, 0);
  const byDate = await fetchRaw(port, '/app/ui.js', { headers: { 'If-Modified-Since': lastModified } });
  assert.equal(byDate.status, 304);
  const stale = await fetchRaw(port, '/app/ui.js', {
    headers: { 'If-Modified-Since': new Date(0).toUTCString() },
  });
  assert.equal(stale.status, 200);
  const changed = await fetchRaw(port, '/app/ui.js', { headers: { 'If-None-Match': '"other"' } });
  assert.equal(changed.status, 200);

  const range = await fetchRaw(port, '/app/ui.js', { headers: { Range: 'bytes=0-5' } });
  assert.equal(range.status, 206);
  assert.equal(range.body.toString(), 'export');
});

test('only GET and HEAD are served: other methods get 405 with Allow', async (t) => {
  const site = makeSite();
  t.after(site.cleanup);
  const port = await serveHandler(
    t,
    createWebHandler({ dir: site.dir, listing: false, novnc: false }, silentLogger)!,
  );
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
    const reply = await fetchRaw(port, '/index.html', { method });
    assert.equal(reply.status, 405, method);
    assert.equal(reply.headers.allow, 'GET, HEAD', method);
    assert.equal(reply.headers['x-wstcp-error'], 'WSTCP_WEB_METHOD_NOT_ALLOWED', method);
  }
});

test('the request log line carries the path without the query (tokens stay out of logs)', async (t) => {
  const site = makeSite();
  t.after(site.cleanup);
  const lines: string[] = [];
  const log = new Logger({ level: 'debug', sink: (line) => lines.push(line) });
  const port = await serveHandler(t, createWebHandler({ dir: site.dir, listing: false, novnc: false }, log)!);
  await fetchRaw(port, '/vnc.html?token=sekrit-token');
  // The line is written when the response finishes, which can trail the client's view.
  for (let i = 0; i < 200 && !lines.some((l) => l.includes('/vnc.html')); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(lines.some((l) => l.includes('/vnc.html')));
  assert.ok(lines.every((l) => !l.includes('sekrit-token')));
});

test('a missing or non-directory --web is a ConfigError naming the flag', () => {
  assert.throws(
    () => createWebHandler({ dir: '/nonexistent/wstcp-web', listing: false, novnc: false }, silentLogger),
    (err: unknown) => err instanceof ConfigError && /--web/.test(err.message),
  );
  assert.throws(
    () => createWebHandler({ dir: '/etc/hostname', listing: false, novnc: false }, silentLogger),
    (err: unknown) => err instanceof ConfigError && /not a directory/.test(err.message),
  );
  assert.equal(createWebHandler({ dir: undefined, listing: false, novnc: false }, silentLogger), undefined);
});
