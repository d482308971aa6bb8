// --cgi-dir: CGI/1.1 scripts answer plain HTTP requests (websocketd's --cgidir), with real scripts behind
// a real HTTP server.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { Logger } from '../../src/observe/log.js';
import { type CgiOptions, parseHeaders, serveCgi } from '../../src/targets/command/cgi.js';
import { ForkLimit } from '../../src/targets/command/fork-limit.js';
import { ScriptDir } from '../../src/targets/command/script-dir.js';
import { writeScript } from '../helpers/commands.js';
import { fetchRaw } from '../helpers/http.js';
import { eventually, groupMembers } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

async function startCgiServer(t: { after(fn: () => unknown): void }, maxForks?: number) {
  const dir = tempDir(t, 'wstcp-cgi-').dir;
  const logs: Record<string, unknown>[] = [];
  const options: CgiOptions = {
    dir: new ScriptDir(dir),
    forks: new ForkLimit(maxForks),
    closeMs: 0,
    reverseLookup: false,
    log: new Logger({ level: 'debug', format: 'json', sink: (line) => logs.push(JSON.parse(line)) }),
    environment: () => ({
      serverSoftware: 'wstcp/test',
      passed: { PATH: process.env.PATH ?? '' },
      uniqueId: '1',
    }),
  };
  const server = createServer((req, res) => {
    void serveCgi(req, res, options).then((served) => {
      if (!served) {
        res.writeHead(404);
        res.end('not found\n');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return { dir, port: (server.address() as AddressInfo).port, logs, options };
}

test('a script sets the status and headers, reads the body from stdin and sees the CGI variables', async (t) => {
  const { dir, port } = await startCgiServer(t);
  writeScript(
    dir,
    'echo.sh',
    `#!/bin/sh
printf 'Status: 201 Made\\r\\nContent-Type: text/plain\\r\\nX-Script: yes\\r\\n\\r\\n'
echo "$REQUEST_METHOD $SCRIPT_NAME $PATH_INFO $QUERY_STRING $CONTENT_LENGTH $CONTENT_TYPE $GATEWAY_INTERFACE"
cat
`,
  );
  const answer = await new Promise<{
    status: number;
    message: string;
    headers: Record<string, unknown>;
    body: string;
  }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/echo.sh/extra?q=1',
        headers: { 'Content-Type': 'text/x' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode!, message: res.statusMessage!, headers: res.headers, body }),
        );
      },
    );
    req.on('error', reject);
    req.end('hello body');
  });
  assert.equal(answer.status, 201);
  assert.equal(answer.message, 'Made');
  assert.equal(answer.headers['x-script'], 'yes');
  assert.equal(answer.body, 'POST /echo.sh /extra q=1 10 text/x CGI/1.1\nhello body');
});

test('Location alone is a 302 redirect', async (t) => {
  const { dir, port } = await startCgiServer(t);
  writeScript(dir, 'go.sh', '#!/bin/sh\nprintf "Location: /elsewhere\\n\\n"\n');
  const answer = await fetchRaw(port, '/go.sh');
  assert.equal(answer.status, 302);
  assert.equal(answer.headers.location, '/elsewhere');
});

test('no script, a directory or a non-executable file: the request goes on (here to 404)', async (t) => {
  const { dir, port } = await startCgiServer(t);
  writeScript(dir, 'data.txt', 'text\n', 0o644);
  for (const path of ['/missing.sh', '/', '/data.txt', '/../etc/passwd', '/%2e%2e/x']) {
    assert.equal((await fetchRaw(port, path)).status, 404, path);
  }
});

test('output without a header block is 502, with a log line', async (t) => {
  const { dir, port, logs } = await startCgiServer(t);
  writeScript(dir, 'bad.sh', '#!/bin/sh\necho just a body\n');
  assert.equal((await fetchRaw(port, '/bad.sh')).status, 502);
  assert.ok(logs.some((l) => l.event === 'cgi.bad_output'));
});

test('a large body is streamed whole', async (t) => {
  const { dir, port } = await startCgiServer(t);
  writeScript(
    dir,
    'big.sh',
    '#!/bin/sh\nprintf "Content-Type: application/octet-stream\\n\\n"\nhead -c 8388608 /dev/zero\n',
  );
  const answer = await fetchRaw(port, '/big.sh');
  assert.equal(answer.status, 200);
  assert.equal(answer.body.length, 8 * 1024 * 1024);
});

test('--max-forks counts CGI scripts: one more is 429 while the limit is in use', async (t) => {
  const { dir, port, options } = await startCgiServer(t, 1);
  writeScript(dir, 'slow.sh', '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n"\nsleep 0.5\necho done\n');
  const first = fetchRaw(port, '/slow.sh');
  await eventually(() => options.forks.count === 1, 'the first script runs');
  assert.equal((await fetchRaw(port, '/slow.sh')).status, 429);
  assert.equal((await first).body.toString(), 'done\n');
  await eventually(() => options.forks.count === 0, 'the slot is given back');
});

test('a client that leaves mid-response ends the script and everything it started', async (t) => {
  const { dir, port } = await startCgiServer(t);
  const pidFile = join(dir, 'pid');
  writeScript(
    dir,
    'endless.sh',
    `#!/bin/sh\necho $$ > ${pidFile}\nprintf "Content-Type: text/plain\\n\\n"\nwhile :; do echo tick; sleep 0.01; done\n`,
  );
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/endless.sh' }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => {});
    req.on('close', resolve);
    setTimeout(() => reject(new Error('no response')), 5000).unref();
    req.end();
  });
  const { readFileSync } = await import('node:fs');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  await eventually(() => groupMembers(pid).length === 0, 'the script is gone', 3000);
});

test('header parsing follows RFC 3875: Status sets the code, bad lines are refused', () => {
  assert.deepEqual(parseHeaders('Status: 404 Not Found\nContent-Type: text/plain'), {
    status: 404,
    statusText: 'Not Found',
    headers: [['Content-Type', 'text/plain']],
  });
  assert.equal(parseHeaders('no colon here'), undefined);
  assert.equal(parseHeaders('Bad Name: x'), undefined);
  assert.equal(parseHeaders('Status: abc'), undefined);
});
