/**
 * PROXY protocol v1/v2: the reader on accepted sockets (fed by hand-made bytes and by a real HAProxy
 * `send-proxy`/`send-proxy-v2`) and the header writer for targets (read back by a real nginx
 * `listen ... proxy_protocol`).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProxyHeader, ProxyProtocolError } from '../../src/front/proxy-protocol.js';
import { readProxyHeader } from '../../src/front/proxy-reader.js';
import { proxyHeader } from '../../src/targets/proxy-header.js';
import { freePort } from '../helpers/ports.js';
import { startHaproxy, startNginx } from '../helpers/proxies.js';

interface Seen {
  header?: ProxyHeader;
  error?: string;
  rest: string;
}

/** A server that reads a PROXY header off each connection, then collects what follows until the end. */
async function headerServer(t: { after(fn: () => unknown): void }, timeoutMs = 2000) {
  const seen: Promise<Seen>[] = [];
  const server: Server = createServer((socket: Socket) => {
    seen.push(
      (async () => {
        try {
          const header = await readProxyHeader(socket, timeoutMs);
          let rest = '';
          socket.setEncoding('latin1');
          socket.on('data', (chunk: string) => {
            rest += chunk;
            if (rest.endsWith('\n\n')) socket.end('ok');
          });
          socket.resume();
          await once(socket, 'end');
          return { header, rest };
        } catch (err) {
          socket.destroy();
          return { error: (err as ProxyProtocolError).code, rest: '' };
        }
      })(),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  return {
    port,
    next: async (i: number) => {
      for (let n = 0; n < 200 && seen.length <= i; n++) await sleep(10);
      return seen[i]!;
    },
    /** The first connection so far matching `predicate` (bounded wait: 5 s). */
    find: async (predicate: (seen: Seen) => boolean) => {
      for (let n = 0; n < 100; n++) {
        const settled: Seen[] = [];
        for (const p of seen) settled.push(await Promise.race([p, sleep(10).then(() => ({ rest: '' }))]));
        const match = settled.find(predicate);
        if (match) return match;
        await sleep(50);
      }
      return undefined;
    },
  };
}

async function send(port: number, chunks: (Buffer | string)[], localAddress?: string): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => {});
  // The server may drop the connection while the chunks are being written.
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  for (const chunk of chunks) {
    if (socket.destroyed) break;
    socket.write(chunk);
    await sleep(5);
  }
  socket.end();
  socket.resume();
  await closed;
}

test('a v1 header sent one byte at a time is read, and the bytes after it are kept', async (t) => {
  // Reproduces: a header split across reads must not be taken for an invalid one.
  const server = await headerServer(t);
  const bytes = Buffer.from('PROXY TCP4 192.0.2.7 127.0.0.1 51234 80\r\nGET / HTTP/1.1\n\n');
  await send(
    server.port,
    [...bytes].map((b) => Buffer.from([b])),
  );
  const seen = await server.next(0);
  assert.deepEqual(seen.header, {
    kind: 'proxy',
    version: 1,
    source: { address: '192.0.2.7', port: 51234 },
    destination: { address: '127.0.0.1', port: 80 },
  });
  assert.equal(seen.rest, 'GET / HTTP/1.1\n\n');
});

test('v2 headers written by the target writer read back, IPv4, IPv6 and IPv4-mapped', async (t) => {
  const server = await headerServer(t);
  const cases = [
    { source: { address: '203.0.113.9', port: 1 }, destination: { address: '127.0.0.1', port: 65535 } },
    { source: { address: '2001:db8::17', port: 4711 }, destination: { address: '::1', port: 5900 } },
    // Mixed families become IPv6 on the wire and the IPv4 client reads back as IPv4.
    { source: { address: '198.51.100.3', port: 999 }, destination: { address: '::1', port: 22 } },
  ];
  for (const [i, { source, destination }] of cases.entries()) {
    await send(server.port, [Buffer.concat([proxyHeader('v2', source, destination), Buffer.from('x\n\n')])]);
    const seen = await server.next(i);
    assert.equal(seen.header?.kind, 'proxy');
    if (seen.header?.kind !== 'proxy') return;
    assert.deepEqual(seen.header.source, source);
    assert.equal(seen.header.version, 2);
    assert.equal(seen.rest, 'x\n\n');
  }
});

test('v1 headers from the writer read back, and a unix-socket source gives UNKNOWN (local)', async (t) => {
  const server = await headerServer(t);
  await send(server.port, [
    proxyHeader('v1', { address: '2001:db8::1', port: 80 }, { address: '2001:db8::2', port: 443 }),
    'a\n\n',
  ]);
  const first = await server.next(0);
  assert.equal(first.header?.kind === 'proxy' && first.header.source.address, '2001:db8::1');
  await send(server.port, [
    proxyHeader('v1', { address: '/run/x.sock', port: 0 }, { address: '127.0.0.1', port: 1 }),
    'b\n\n',
  ]);
  assert.deepEqual((await server.next(1)).header, { kind: 'local', version: 1 });
});

test('a peer that sends HTTP instead of a header is refused at its first bytes, not after the timeout', async (t) => {
  // Reproduces: an untrusted client talking plain HTTP to a --proxy-protocol port must not get through.
  const server = await headerServer(t, 60_000);
  const started = Date.now();
  await send(server.port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n']);
  const seen = await server.next(0);
  assert.equal(seen.error, 'WSTCP_PROXY_PROTOCOL');
  assert.ok(Date.now() - started < 5000);
});

test('a header that never completes is refused at the timeout; an overlong v1 line at once', async (t) => {
  const server = await headerServer(t, 300);
  const slow = connect({ host: '127.0.0.1', port: server.port });
  slow.on('error', () => {});
  await once(slow, 'connect');
  slow.write('PROXY TCP4 1.2.3.4');
  const seen = await server.next(0);
  assert.equal(seen.error, 'WSTCP_PROXY_PROTOCOL');
  slow.destroy();
  await send(server.port, [`PROXY TCP4 ${'1'.repeat(120)}`]);
  assert.equal((await server.next(1)).error, 'WSTCP_PROXY_PROTOCOL');
});

test('malformed v1 and v2 headers are refused with the stable code', async (t) => {
  const server = await headerServer(t);
  const v2 = proxyHeader('v2', { address: '10.0.0.1', port: 1 }, { address: '10.0.0.2', port: 2 });
  const badVersion = Buffer.from(v2);
  badVersion[12] = 0x31;
  const badFamily = Buffer.from(v2);
  badFamily[13] = 0x51;
  const bad = [
    'PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n',
    'PROXY TCP4 ::1 ::1 1 2\r\n',
    'PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n',
    'PROXY TCP4 1.2.3.4 5.6.7.8 1 70000\r\n',
    badVersion,
    badFamily,
  ];
  for (const [i, bytes] of bad.entries()) {
    await send(server.port, [bytes]);
    assert.equal((await server.next(i)).error, 'WSTCP_PROXY_PROTOCOL', `case ${i}`);
  }
});

test('HAProxy send-proxy-v2 and send-proxy: the reader sees each client address (127.0.0.2, 127.0.0.3)', async (t) => {
  const server = await headerServer(t);
  const [v2Port, v1Port] = [await freePort(), await freePort()];
  const haproxy = await startHaproxy(
    t,
    [
      `listen v2\n  mode tcp\n  bind 127.0.0.1:${v2Port}\n  server s 127.0.0.1:${server.port} send-proxy-v2`,
      `listen v1\n  mode tcp\n  bind 127.0.0.1:${v1Port}\n  server s 127.0.0.1:${server.port} send-proxy`,
    ].join('\n'),
    [v2Port, v1Port],
  );
  if (!haproxy) return;
  // waitForPort's probes went through HAProxy too, from 127.0.0.1: each client is looked for by its address.
  const clients = [
    { port: v2Port, address: '127.0.0.2', version: 2 },
    { port: v1Port, address: '127.0.0.3', version: 1 },
    { port: v2Port, address: '127.0.0.3', version: 2 },
  ];
  for (const client of clients) {
    await send(client.port, [`hello v${client.version}\n\n`], client.address);
    const match = await server.find(
      (s) =>
        s.header?.kind === 'proxy' &&
        s.header.source.address === client.address &&
        s.header.version === client.version &&
        s.rest === `hello v${client.version}\n\n`,
    );
    assert.ok(match, `HAProxy v${client.version} from ${client.address}`);
  }
});

test('nginx with listen ... proxy_protocol reads the address from the target writer (v1 and v2)', async (t) => {
  // The writer's bytes are judged by a real PROXY protocol receiver, not by our own parser.
  const port = await freePort();
  const nginx = await startNginx(
    t,
    `  server {\n    listen 127.0.0.1:${port} proxy_protocol;\n    location / { return 200 "$proxy_protocol_addr $proxy_protocol_port"; }\n  }`,
    [port],
  );
  if (!nginx) return;
  const cases = [
    { version: 'v1' as const, address: '192.0.2.44', port: 40000 },
    { version: 'v2' as const, address: '192.0.2.45', port: 40001 },
    { version: 'v2' as const, address: '2001:db8::45', port: 40002 },
  ];
  for (const c of cases) {
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    socket.write(
      proxyHeader(c.version, { address: c.address, port: c.port }, { address: '127.0.0.1', port }),
    );
    socket.write('GET / HTTP/1.0\r\nHost: x\r\n\r\n');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    await once(socket, 'end');
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.ok(answer.endsWith(`${c.address} ${c.port}`), `${c.version}: ${answer}`);
  }
});
