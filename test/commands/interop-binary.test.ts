// --binary behind the real websocketd and behind wstcp: raw bytes both ways as binary frames, no newline
// added, through the same scripts. websocketd is started once for the whole file.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningBridge, startBridge } from '../helpers/bridge.js';
import { type Conversation, talk, writeScript } from '../helpers/commands.js';
import { tempDir } from '../helpers/tmp.js';
import { type RunningWebsocketd, startWebsocketd } from '../helpers/websocketd.js';

const cleanups: (() => void)[] = [];
const root = tempDir({ after: (fn) => cleanups.push(fn) }, 'wstcp-interop-bin-').dir;
const scripts = join(root, 'scripts');
mkdirSync(scripts);
writeScript(scripts, 'cat.sh', '#!/bin/sh\nexec cat\n');
writeScript(scripts, 'numbers.sh', '#!/bin/sh\nseq 1 20000\n');

let websocketd: RunningWebsocketd | undefined;
let wstcp: RunningBridge;

before(async (t) => {
  websocketd = await startWebsocketd(t as never, ['--binary', `--dir=${scripts}`], { cwd: process.cwd() });
  wstcp = await startBridge(['--binary', '--dir', scripts, '127.0.0.1:0']);
});
after(async () => {
  await websocketd?.close();
  await wstcp?.close();
  for (const fn of cleanups) fn();
});

function joined(conversation: Conversation): Buffer {
  return Buffer.concat(conversation.messages.map((m) => m.data));
}

test('bytes through cat come back unchanged, as binary frames, with no newline added', async (t) => {
  if (!websocketd) return t.skip('SKIPPED: websocketd is not installed (apt-get install websocketd)');
  const send = [Buffer.from([0, 1, 2, 10, 13]), Buffer.from([255, 254, 10]), Buffer.alloc(3000, 0x41)];
  const total = send.reduce((n, b) => n + b.length, 0);
  const until = (m: readonly { data: Buffer }[]) => m.reduce((n, x) => n + x.data.length, 0) >= total;
  const [theirs, ours]: [Conversation, Conversation] = await Promise.all([
    talk(`${websocketd.url}/cat.sh`, { send, until }),
    talk(`${wstcp.url}/cat.sh`, { send, until }),
  ]);
  assert.deepEqual(joined(theirs), Buffer.concat(send));
  assert.deepEqual(joined(ours), joined(theirs));
  assert.ok(ours.messages.every((m) => m.binary));
  assert.ok(theirs.messages.every((m) => m.binary));
});

test("a program's whole output arrives, in binary frames, before the close", async (t) => {
  if (!websocketd) return t.skip('SKIPPED: websocketd is not installed (apt-get install websocketd)');
  const [theirs, ours]: [Conversation, Conversation] = await Promise.all([
    talk(`${websocketd.url}/numbers.sh`),
    talk(`${wstcp.url}/numbers.sh`),
  ]);
  const expected = `${Array.from({ length: 20000 }, (_, i) => i + 1).join('\n')}\n`;
  assert.equal(joined(theirs).toString(), expected);
  assert.equal(joined(ours).toString(), expected);
  assert.equal(ours.code, 1000);
});
