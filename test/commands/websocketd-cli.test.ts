// `wstcp websocketd ...` as a websocketd user runs it: the real bin/wstcp process with websocketd's
// command line, serving, refusing unsupported flags in one line, and printing its help.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { talk, writeScript } from '../helpers/commands.js';
import { freePort } from '../helpers/ports.js';
import { WSTCP_BIN } from '../helpers/process.js';
import { eventually } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

test('wstcp websocketd --port=P --address=127.0.0.1 --dir=DIR serves ws://HOST:P/counter.sh', async (t) => {
  const dir = tempDir(t).dir;
  writeScript(dir, 'counter.sh', '#!/bin/sh\nfor i in 1 2 3; do echo $i; sleep 0.05; done\n');
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [WSTCP_BIN, 'websocketd', `--port=${port}`, '--address=127.0.0.1', `--dir=${dir}`],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  t.after(() => child.kill('SIGKILL'));
  await eventually(() => stderr.includes('bridge.listening'), 'wstcp listening', 10000);
  const { texts, code } = await talk(`ws://127.0.0.1:${port}/counter.sh`);
  assert.deepEqual(texts, ['1', '2', '3']);
  assert.equal(code, 1000);
});

test('flags wstcp does not support: exit 2 and one line that names each of them', () => {
  const result = spawnSync(
    process.execPath,
    [WSTCP_BIN, 'websocketd', '--port=8080', '--redirport=80', '--passstderr', 'cat'],
    { encoding: 'utf8' },
  );
  assert.equal(result.status, 2);
  const [first] = result.stderr.split('\n');
  assert.match(first!, /--redirport/);
  assert.match(first!, /--passstderr/);
});

test('an unknown flag is refused as websocketd refuses it, with exit 2', () => {
  const result = spawnSync(process.execPath, [WSTCP_BIN, 'websocketd', '--no-such-flag', 'cat'], {
    encoding: 'utf8',
  });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /flag provided but not defined: -no-such-flag/);
});

test('wstcp websocketd --help prints its usage and exits 0', () => {
  const result = spawnSync(process.execPath, [WSTCP_BIN, 'websocketd', '--help'], { encoding: 'utf8' });
  assert.equal(result.status, 0);
  assert.match(result.stdout, /--dir=DIR/);
});
