// --maxforks behind the real websocketd and wstcp --max-forks: with one program allowed, a second client
// is answered 429 by both while the first runs, and is served again once the first has ended.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { type RunningBridge, startBridge } from '../helpers/bridge.js';
import { talk } from '../helpers/commands.js';
import { type RunningWebsocketd, startWebsocketd } from '../helpers/websocketd.js';

let websocketd: RunningWebsocketd | undefined;
let wstcp: RunningBridge;

before(async (t) => {
  websocketd = await startWebsocketd(t as never, ['--maxforks=1', 'cat'], { cwd: process.cwd() });
  wstcp = await startBridge(['--max-forks', '1', '--cmd', 'cat', '127.0.0.1:0']);
});
after(async () => {
  await websocketd?.close();
  await wstcp?.close();
});

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

test('one program allowed: the second client gets 429 on both, and is served once the first is gone', async (t) => {
  if (!websocketd) return t.skip('SKIPPED: websocketd is not installed (apt-get install websocketd)');
  for (const url of [websocketd.url, wstcp.url]) {
    const first = await open(url);
    await assert.rejects(talk(url), /HTTP 429/, url);
    first.close();
    await new Promise((resolve) => first.once('close', resolve));
    // The slot comes back when the program has been reaped, a moment after the close.
    let served = false;
    for (let attempt = 0; attempt < 50 && !served; attempt++) {
      served = await talk(url, { send: ['x'], until: (m) => m.length === 1 }).then(
        (c) => c.texts[0] === 'x',
        () => false,
      );
      if (!served) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(served, `${url} serves again after the first program ended`);
  }
});
