/**
 * The real client address: the rightmost untrusted hop of X-Forwarded-For / Forwarded when the peer is a
 * trusted proxy, the peer itself otherwise. Checked on hand-written headers and behind a real nginx
 * (`$proxy_add_x_forwarded_for`) and a real HAProxy (`option forwardfor`), clients on 127.0.0.2/127.0.0.3.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import { test } from 'node:test';
import { clientAddressOf, forwardedFor, hopAddress } from '../../src/admission/client-address.js';
import { CidrError, trustedProxies } from '../../src/admission/trusted-proxies.js';
import { freePort } from '../helpers/ports.js';
import { startHaproxy, startNginx } from '../helpers/proxies.js';

const trusted = trustedProxies(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);

test('trusted ranges: CIDRs, bare hosts, IPv4-mapped peers; bad ranges refused', () => {
  assert.equal(trusted.has('10.200.3.4'), true);
  assert.equal(trusted.has('::ffff:10.200.3.4'), true);
  assert.equal(trusted.has('127.0.0.1'), true);
  assert.equal(trusted.has('127.0.0.2'), false);
  assert.equal(trusted.has('fd12::1'), true);
  assert.equal(trusted.has('2001:db8::1'), false);
  assert.equal(trusted.has('not-an-ip'), false);
  for (const bad of ['10.0.0.0/33', 'fd00::/129', 'example.com', '10.0.0.0/8/1', '1.2.3.4/-1', '']) {
    assert.throws(() => trustedProxies([bad]), CidrError, bad);
  }
});

test('a spoofed X-Forwarded-For from an untrusted peer is ignored', () => {
  // Reproduces websockify #334/#630 the wrong way round: a client must not pick its own logged address.
  assert.equal(clientAddressOf('192.0.2.9', { 'x-forwarded-for': '1.1.1.1' }, trusted), '192.0.2.9');
  assert.equal(clientAddressOf('192.0.2.9', { forwarded: 'for=1.1.1.1' }, trusted), '192.0.2.9');
});

test('the rightmost untrusted hop wins; what the client wrote to the left of it is ignored', () => {
  const headers = { 'x-forwarded-for': '6.6.6.6, 192.0.2.1, 10.0.0.4' };
  assert.equal(clientAddressOf('127.0.0.1', headers, trusted), '192.0.2.1');
  assert.equal(
    clientAddressOf('127.0.0.1', { 'x-forwarded-for': ['6.6.6.6', '198.51.100.2'] }, trusted),
    '198.51.100.2',
  );
  // Only trusted hops: the leftmost is as far as the chain goes.
  assert.equal(
    clientAddressOf('127.0.0.1', { 'x-forwarded-for': '10.1.1.1, 10.0.0.4' }, trusted),
    '10.1.1.1',
  );
  // A hop that is not an address stops the walk at the last real one.
  assert.equal(
    clientAddressOf('127.0.0.1', { 'x-forwarded-for': '192.0.2.1, unknown, 10.0.0.4' }, trusted),
    '10.0.0.4',
  );
  assert.equal(clientAddressOf('127.0.0.1', { 'x-forwarded-for': '  ' }, trusted), '127.0.0.1');
});

test('Forwarded (RFC 7239) with quoted IPv6 and ports, read only when the proxies write it', () => {
  const headers = {
    forwarded: 'for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https, For=10.0.0.3;by=10.0.0.1',
    'x-forwarded-for': '5.5.5.5',
  };
  assert.equal(clientAddressOf('10.0.0.2', headers, trusted, 'forwarded'), '2001:db8:cafe::17');
  // Behind a proxy writing X-Forwarded-For, a Forwarded header is the client's own words.
  assert.equal(clientAddressOf('10.0.0.2', { forwarded: 'for=6.6.6.6' }, trusted), '10.0.0.2');
  assert.deepEqual(forwardedFor('for=_hidden, for=unknown, for=192.0.2.60:80'), [
    undefined,
    undefined,
    '192.0.2.60',
  ]);
  assert.equal(hopAddress('[::1]'), '::1');
  assert.equal(hopAddress('[::1'), undefined);
  assert.equal(hopAddress('1.2.3.4:80:90'), undefined);
});

/** A backend answering with the client address it works out for each request. */
async function addressEcho(t: { after(fn: () => unknown): void }) {
  const echo = trustedProxies(['127.0.0.1']);
  const server = createServer((req, res) => {
    res.end(clientAddressOf(req.socket.remoteAddress ?? '', req.headers, echo));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return (server.address() as { port: number }).port;
}

function get(port: number, localAddress: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, localAddress, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

test('behind a real nginx ($proxy_add_x_forwarded_for): each client address, spoofed headers ignored', async (t) => {
  const backend = await addressEcho(t);
  const port = await freePort();
  const nginx = await startNginx(
    t,
    `  server {\n    listen 127.0.0.1:${port};\n    location / {\n      proxy_pass http://127.0.0.1:${backend};\n      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    }\n  }`,
    [port],
  );
  if (!nginx) return;
  assert.equal(await get(port, '127.0.0.2'), '127.0.0.2');
  assert.equal(await get(port, '127.0.0.3', { 'X-Forwarded-For': '203.0.113.66' }), '127.0.0.3');
  // Straight to the backend, the same spoofed header counts for nothing.
  assert.equal(await get(backend, '127.0.0.3', { 'X-Forwarded-For': '203.0.113.66' }), '127.0.0.3');
});

test('behind a real HAProxy (option forwardfor): each client address, spoofed headers ignored', async (t) => {
  // Reproduces: a client-made Forwarded header was preferred to the X-Forwarded-For HAProxy appends.
  const backend = await addressEcho(t);
  const port = await freePort();
  const haproxy = await startHaproxy(
    t,
    `frontend fe\n  bind 127.0.0.1:${port}\n  option forwardfor\n  default_backend be\nbackend be\n  server s 127.0.0.1:${backend}`,
    [port],
  );
  if (!haproxy) return;
  assert.equal(await get(port, '127.0.0.2'), '127.0.0.2');
  assert.equal(await get(port, '127.0.0.3', { 'X-Forwarded-For': '203.0.113.66' }), '127.0.0.3');
  assert.equal(await get(port, '127.0.0.2', { Forwarded: 'for=203.0.113.66' }), '127.0.0.2');
});
