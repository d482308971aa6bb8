/**
 * The real client address end to end, real proxies in front of a real wstcp process, clients on
 * 127.0.0.2 and 127.0.0.3: HAProxy send-proxy-v2 and option forwardfor, nginx X-Forwarded-For and
 * stream proxy_protocol. The address reaches the log lines and the per-IP limit; untrusted peers and
 * spoofed headers get nowhere. --target-proxy-protocol is read back by a real nginx target.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { expectRefusal, openClient, receive, startEcho } from '../helpers/bridge.js';
import { freePort } from '../helpers/ports.js';
import { spawnWstcp, type WstcpProcess } from '../helpers/process.js';
import { startHaproxy, startNginx } from '../helpers/proxies.js';
import { tempDir } from '../helpers/tmp.js';

async function wstcpWith(t: { after(fn: () => unknown): void }, flags: string[], target?: string) {
  let targetText = target;
  if (!targetText) {
    const echo = await startEcho();
    t.after(() => echo.close());
    targetText = `127.0.0.1:${echo.port}`;
  }
  const wstcp = await spawnWstcp([...flags, '127.0.0.1:0', targetText]);
  t.after(() => {
    wstcp.kill('SIGKILL');
    return wstcp.exited;
  });
  assert.ok(wstcp.port > 0, wstcp.stderr());
  return wstcp;
}

/** The client addresses of the session.open lines so far (without ports). */
function sessionClients(wstcp: WstcpProcess): string[] {
  return wstcp.lines
    .filter((l) => l.event === 'session.open')
    .map((l) => String(l.client).replace(/:\d+$/, ''));
}

async function echoThrough(url: string, localAddress: string, headers: Record<string, string> = {}) {
  const ws = await openClient(url, undefined, { localAddress, headers });
  ws.send(Buffer.from('ping'));
  assert.equal((await receive(ws, 4)).toString(), 'ping');
  return ws;
}

/** Connects straight to `port` from `localAddress`, sends `bytes`; resolves once the peer closes. */
async function dropped(port: number, localAddress: string, bytes: string): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  // A reset is one way of being dropped (events.once would reject on it).
  socket.on('error', () => {});
  const closedSocket = new Promise((resolve) => socket.once('close', resolve));
  let answer = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    answer += chunk;
  });
  await once(socket, 'connect');
  socket.write(bytes);
  await closedSocket;
  return answer;
}

test('HAProxy send-proxy-v2: the real addresses reach the log and the per-IP limit; direct peers are refused', async (t) => {
  const wstcp = await wstcpWith(t, [
    '--proxy-protocol',
    '--trusted-proxy',
    '127.0.0.1',
    '--max-connections-per-ip',
    '1',
  ]);
  const port = await freePort();
  const haproxy = await startHaproxy(
    t,
    `listen ws\n  mode tcp\n  bind 127.0.0.1:${port}\n  server w 127.0.0.1:${wstcp.port} send-proxy-v2`,
    [port],
  );
  if (!haproxy) return;
  const url = `ws://127.0.0.1:${port}/`;
  const first = await echoThrough(url, '127.0.0.2');
  const second = await echoThrough(url, '127.0.0.3');
  assert.deepEqual(sessionClients(wstcp), ['127.0.0.2', '127.0.0.3']);
  // Each client has its own per-IP slot, though every connection comes from HAProxy's 127.0.0.1.
  const refused = await expectRefusal(url, { localAddress: '127.0.0.2' });
  assert.equal(refused.status, 429);

  // Not a trusted proxy: dropped before any HTTP, whatever it sends.
  const handshake = 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';
  assert.equal(
    await dropped(wstcp.port, '127.0.0.2', `PROXY TCP4 9.9.9.9 127.0.0.1 1 2\r\n${handshake}`),
    '',
  );
  // A trusted peer without a header: dropped too.
  assert.equal(await dropped(wstcp.port, '127.0.0.1', handshake), '');
  const codes = wstcp.lines.filter((l) => l.event === 'connection.refused').map((l) => l.code);
  assert.deepEqual(codes.slice(-2), ['WSTCP_UNTRUSTED_PROXY', 'WSTCP_PROXY_PROTOCOL']);
  first.close();
  second.close();
});

test('HAProxy option forwardfor (http mode): the client address comes from X-Forwarded-For', async (t) => {
  const wstcp = await wstcpWith(t, ['--trusted-proxy', '127.0.0.1/32']);
  const port = await freePort();
  const haproxy = await startHaproxy(
    t,
    `frontend fe\n  bind 127.0.0.1:${port}\n  option forwardfor\n  default_backend be\nbackend be\n  server w 127.0.0.1:${wstcp.port}`,
    [port],
  );
  if (!haproxy) return;
  const ws = await echoThrough(`ws://127.0.0.1:${port}/`, '127.0.0.3', { Forwarded: 'for=203.0.113.7' });
  assert.deepEqual(sessionClients(wstcp), ['127.0.0.3']);
  ws.close();
});

test('nginx with X-Forwarded-For in front: real addresses in logs and per-IP limits; a spoofed header straight to wstcp is ignored', async (t) => {
  const wstcp = await wstcpWith(t, ['--trusted-proxy', '127.0.0.1', '--max-connections-per-ip', '1']);
  const port = await freePort();
  const nginx = await startNginx(
    t,
    [
      '  map $http_upgrade $connection_upgrade { default upgrade; "" close; }',
      '  server {',
      `    listen 127.0.0.1:${port};`,
      '    location / {',
      `      proxy_pass http://127.0.0.1:${wstcp.port};`,
      '      proxy_http_version 1.1;',
      '      proxy_set_header Upgrade $http_upgrade;',
      '      proxy_set_header Connection $connection_upgrade;',
      '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      '      proxy_read_timeout 1h;',
      '    }',
      '  }',
    ].join('\n'),
    [port],
  );
  if (!nginx) return;
  const url = `ws://127.0.0.1:${port}/`;
  const a = await echoThrough(url, '127.0.0.2', { 'X-Forwarded-For': '203.0.113.5' });
  const b = await echoThrough(url, '127.0.0.3');
  // The per-IP limit and the refusal's log line see the client, not nginx.
  assert.equal((await expectRefusal(url, { localAddress: '127.0.0.3' })).status, 429);
  const refusal = wstcp.lines.find((l) => l.event === 'handshake.refused');
  assert.match(String(refusal?.client), /^127\.0\.0\.3:/);
  const gone = new Promise((resolve) => a.once('close', resolve));
  a.close();
  await gone;
  await sleep(100);
  // Straight to wstcp from an untrusted address, the header is the client's own word and is ignored.
  const c = await echoThrough(`ws://127.0.0.1:${wstcp.port}/`, '127.0.0.2', {
    'X-Forwarded-For': '203.0.113.5',
  });
  assert.deepEqual(sessionClients(wstcp), ['127.0.0.2', '127.0.0.3', '127.0.0.2']);
  for (const ws of [b, c]) ws.close();
});

test('nginx stream proxy_protocol in front of wstcp --proxy-protocol', async (t) => {
  if (!existsSync('/usr/lib/nginx/modules/ngx_stream_module.so')) {
    if (process.env.CI === 'true') throw new Error('CI=true and libnginx-mod-stream is not installed');
    t.skip('SKIPPED: the nginx stream module is not installed (apt-get install libnginx-mod-stream)');
    return;
  }
  const wstcp = await wstcpWith(t, ['--proxy-protocol', '--trusted-proxy', '127.0.0.1']);
  const port = await freePort();
  const nginx = await startNginx(
    t,
    '',
    [port],
    `  server {\n    listen 127.0.0.1:${port};\n    proxy_pass 127.0.0.1:${wstcp.port};\n    proxy_protocol on;\n  }`,
  );
  if (!nginx) return;
  const ws = await echoThrough(`ws://127.0.0.1:${port}/`, '127.0.0.3');
  assert.deepEqual(sessionClients(wstcp), ['127.0.0.3']);
  ws.close();
});

test('--target-proxy-protocol v1/v2: a real nginx target (listen proxy_protocol) sees the browser address', async (t) => {
  const nginxPort = await freePort();
  const nginx = await startNginx(
    t,
    `  server {\n    listen 127.0.0.1:${nginxPort} proxy_protocol;\n    location / { return 200 "client=$proxy_protocol_addr"; }\n  }`,
    [nginxPort],
  );
  if (!nginx) return;
  for (const [version, from] of [
    ['v1', '127.0.0.2'],
    ['v2', '127.0.0.3'],
  ] as const) {
    const wstcp = await wstcpWith(t, ['--target-proxy-protocol', version], `127.0.0.1:${nginxPort}`);
    const ws = await openClient(`ws://127.0.0.1:${wstcp.port}/`, undefined, { localAddress: from });
    ws.send(Buffer.from('GET / HTTP/1.0\r\nHost: x\r\n\r\n'));
    let answer = '';
    for (let i = 0; i < 50 && !answer.includes('client='); i++) {
      answer += (await receive(ws, 1)).toString();
      await sleep(1);
    }
    assert.ok(answer.endsWith(`client=${from}`), `${version}: ${answer}`);
    ws.close();
  }
});

test('HAProxy send-proxy-v2 to --unix-listen: a unix socket peer may send the header (its file mode guards it)', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const { dir } = tempDir(t, 'wstcp-unix-proxy-');
  const path = join(dir, 'wstcp.sock');
  const wstcp = await spawnWstcp([
    '--proxy-protocol',
    '--trusted-proxy',
    '127.0.0.1',
    '--unix-listen',
    path,
    `127.0.0.1:${echo.port}`,
  ]);
  t.after(() => {
    wstcp.kill('SIGKILL');
    return wstcp.exited;
  });
  assert.ok(
    wstcp.lines.some((l) => l.event === 'bridge.listening'),
    wstcp.stderr(),
  );
  const port = await freePort();
  const haproxy = await startHaproxy(
    t,
    `listen ws\n  mode tcp\n  bind 127.0.0.1:${port}\n  server w unix@${path} send-proxy-v2`,
    [port],
  );
  if (!haproxy) return;
  const ws = await echoThrough(`ws://127.0.0.1:${port}/`, '127.0.0.3');
  assert.deepEqual(sessionClients(wstcp), ['127.0.0.3']);
  ws.close();
});

test('REMOTE_ADDR of a command target (--cmd) is the real client behind nginx, and the peer otherwise', async (t) => {
  const { dir } = tempDir(t, 'wstcp-cmd-addr-');
  const script = join(dir, 'addr.sh');
  writeFileSync(script, '#!/bin/sh\necho "$REMOTE_ADDR"\n', { mode: 0o755 });
  const wstcp = await spawnWstcp(['--trusted-proxy', '127.0.0.1', '--cmd', script, '127.0.0.1:0']);
  t.after(() => {
    wstcp.kill('SIGKILL');
    return wstcp.exited;
  });
  const port = await freePort();
  const nginx = await startNginx(
    t,
    [
      '  server {',
      `    listen 127.0.0.1:${port};`,
      '    location / {',
      `      proxy_pass http://127.0.0.1:${wstcp.port};`,
      '      proxy_http_version 1.1;',
      '      proxy_set_header Upgrade $http_upgrade;',
      '      proxy_set_header Connection "upgrade";',
      '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      '    }',
      '  }',
    ].join('\n'),
    [port],
  );
  if (!nginx) return;
  const firstLine = async (url: string, localAddress: string, headers: Record<string, string> = {}) => {
    const ws = await openClient(url, undefined, { localAddress, headers });
    const line = (await receive(ws, 9)).toString().trim();
    ws.close();
    return line;
  };
  assert.equal(
    await firstLine(`ws://127.0.0.1:${port}/`, '127.0.0.2', { 'X-Forwarded-For': '203.0.113.1' }),
    '127.0.0.2',
  );
  assert.equal(
    await firstLine(`ws://127.0.0.1:${wstcp.port}/`, '127.0.0.3', { 'X-Forwarded-For': '203.0.113.1' }),
    '127.0.0.3',
  );
});
