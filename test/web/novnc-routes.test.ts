// --novnc: our page and noVNC's ES modules are served from the installed packages, every module the
// page imports resolves (the browser would otherwise fail on one missing file), and --novnc combined
// with --web gives the viewer its paths and the directory everything else.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../../src/observe/log.js';
import { createWebHandler } from '../../src/web/index.js';
import { fetchRaw, serveHandler } from '../helpers/http.js';

const JS = 'application/javascript; charset=utf-8';

test('the viewer page is served at / and /vnc.html, with its script and style', async (t) => {
  const port = await serveHandler(
    t,
    createWebHandler({ dir: undefined, listing: false, novnc: true }, silentLogger)!,
  );
  for (const path of ['/', '/vnc.html', '/vnc.html?token=abc', '/?token=abc']) {
    const page = await fetchRaw(port, path);
    assert.equal(page.status, 200, path);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8', path);
    assert.match(page.body.toString(), /<script type="module" src="novnc\/viewer\.js">/, path);
  }
  const script = await fetchRaw(port, '/novnc/viewer.js');
  assert.equal(script.headers['content-type'], JS);
  const style = await fetchRaw(port, '/novnc/viewer.css');
  assert.equal(style.headers['content-type'], 'text/css; charset=utf-8');
  assert.equal((await fetchRaw(port, '/other.html')).status, 404);
  assert.equal((await fetchRaw(port, '/novnc/core/../../package.json')).status, 404);
  assert.equal((await fetchRaw(port, '/novnc/core/%2e%2e/package.json')).status, 404);
  assert.equal((await fetchRaw(port, '/novnc/package.json')).status, 404);
});

test('every module reachable from the viewer script is served as JavaScript', async (t) => {
  const port = await serveHandler(
    t,
    createWebHandler({ dir: undefined, listing: false, novnc: true }, silentLogger)!,
  );
  const seen = new Set<string>();
  const queue = ['/novnc/viewer.js'];
  while (queue.length > 0) {
    const path = queue.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const reply = await fetchRaw(port, path);
    assert.equal(reply.status, 200, path);
    assert.equal(reply.headers['content-type'], JS, path);
    for (const match of reply.body
      .toString()
      .matchAll(
        /(?:^|\n)\s*(?:import|export)\b[^;'"]*?from\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']/g,
      )) {
      const spec = (match[1] ?? match[2])!;
      assert.ok(spec.startsWith('.'), `${path} imports bare specifier ${spec}`);
      queue.push(new URL(spec, `http://x${path}`).pathname);
    }
  }
  assert.ok(seen.has('/novnc/core/rfb.js'));
  assert.ok(seen.has('/novnc/vendor/pako/lib/zlib/inflate.js'));
  assert.ok(seen.size > 30, `only ${seen.size} modules found`);
});

test('with --web too, the viewer keeps its paths and the directory serves the rest', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wstcp-web-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'vnc.html'), 'theirs');
  writeFileSync(join(dir, 'extra.txt'), 'extra');
  const port = await serveHandler(t, createWebHandler({ dir, listing: false, novnc: true }, silentLogger)!);
  assert.match((await fetchRaw(port, '/vnc.html')).body.toString(), /novnc\/viewer\.js/);
  assert.equal((await fetchRaw(port, '/extra.txt')).body.toString(), 'extra');
  assert.equal((await fetchRaw(port, '/novnc/core/rfb.js')).status, 200);
});
