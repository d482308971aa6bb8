// The nginx recipe of docs/operations.md, run as written (issue 17): the block between the nginx-recipe
// markers is given to the real nginx with only its paths and listen address replaced, its worker runs as
// www-data (not root), and wstcp listens on a unix socket of mode 660 in a setgid directory of the
// worker's group. The old recipe proxied /websockify only (no viewer) and said nothing about the socket's
// group, so nginx's worker got EACCES.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { startBridge, startEcho, waitFor } from '../helpers/bridge.js';
import { selfSigned } from '../helpers/pki.js';
import { requireProgram } from '../helpers/programs.js';
import { tempDir } from '../helpers/tmp.js';

const DOC = new URL('../../../docs/operations.md', import.meta.url);
const WORKER = { user: 'www-data', uid: 33, gid: 33 };

/** The recipe block of the document. */
function recipe(): string {
  const text = readFileSync(DOC, 'utf8');
  const block = /<!-- nginx-recipe:start -->\n```nginx\n([\s\S]*?)```\n<!-- nginx-recipe:end -->/.exec(text);
  assert.ok(block, 'docs/operations.md has the nginx recipe between its markers');
  return block[1]!;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, rejectUnauthorized: false });
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

test('the nginx recipe works as written: viewer pages and a WebSocket session through nginx', async (t) => {
  const nginx = requireProgram(t, 'nginx');
  if (!nginx) return;
  const asRoot = process.getuid?.() === 0;
  const echo = await startEcho();
  t.after(() => echo.close());

  const prefix = tempDir(t, 'wstcp-nginx-').dir;
  chmodSync(prefix, 0o755); // the worker walks through it to the socket directory
  const run = join(prefix, 'run');
  mkdirSync(run);
  // The recipe's `install -d -o wstcp -g www-data -m 2750 /run/wstcp`, with the test's user as owner.
  if (asRoot) chownSync(run, 0, WORKER.gid);
  chmodSync(run, 0o2750);
  const socket = join(run, 'wstcp.sock');
  const bridge = await startBridge([
    '--novnc',
    '--unix-listen',
    socket,
    '--unix-listen-mode',
    '660',
    '--log-format',
    'json',
    `127.0.0.1:${echo.port}`,
  ]);
  t.after(() => bridge.close());
  const mode = statSync(socket);
  assert.equal(mode.mode & 0o777, 0o660);
  if (asRoot) assert.equal(mode.gid, WORKER.gid, 'the socket has the group of nginx workers');

  const issued = selfSigned(['127.0.0.1']);
  writeFileSync(join(prefix, 'cert.pem'), issued.cert);
  writeFileSync(join(prefix, 'key.pem'), issued.key, { mode: 0o600 });
  const port = await freePort();
  const site = recipe()
    .replaceAll('/run/wstcp/wstcp.sock', socket)
    .replace('listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`)
    .replace(/ssl_certificate\s+\S+;/, `ssl_certificate ${join(prefix, 'cert.pem')};`)
    .replace(/ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${join(prefix, 'key.pem')};`);
  writeFileSync(join(prefix, 'site.conf'), site);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((name) => `    ${name}_temp_path ${join(prefix, `${name}_temp`)};`)
    .join('\n');
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `${asRoot ? `user ${WORKER.user};\n` : ''}worker_processes 1;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} warn;
events { worker_connections 64; }
http {
    access_log off;
${temp}
    include ${join(prefix, 'site.conf')};
}
`,
  );
  const server: ChildProcess = spawn(
    nginx,
    ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  server.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  t.after(async () => {
    if (server.exitCode === null) {
      server.kill('SIGQUIT');
      await once(server, 'exit');
    }
  });
  await waitFor(
    () => {
      if (server.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
      return stderr.length > 0 || statSafe(join(prefix, 'nginx.pid'));
    },
    10000,
    'nginx to start',
  );

  // location / serves the viewer's page.
  const page = await get(port, '/');
  assert.equal(page.status, 200, `${page.body}\n${readFileSync(join(prefix, 'error.log'), 'utf8')}`);
  assert.match(page.body, /<title>Remote desktop<\/title>/);

  // The WebSocket session goes through nginx and the unix socket to the target, both ways.
  const ws = new WebSocket(`wss://127.0.0.1:${port}/websockify`, { rejectUnauthorized: false });
  await once(ws, 'open');
  const echoed = once(ws, 'message');
  ws.send(Buffer.from('through nginx'));
  const [data] = (await echoed) as [Buffer];
  assert.equal(data.toString(), 'through nginx');
  ws.close();
  await once(ws, 'close');
  await waitFor(() => bridge.logs.some((l) => l.includes('"session.close"')));
  const open = bridge.logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.event === 'session.open');
  assert.equal(open?.client, 'unix');
});

function statSafe(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
