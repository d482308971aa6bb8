// Neon's serverless Postgres driver (@neondatabase/serverless) through wstcp --target-from-url to a real
// PostgreSQL with SCRAM auth (issue 14): the driver names its database in the URL (`?address=host:port`
// for a string wsProxy, any path for a function), which wstcp used to ignore.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, neonConfig } from '@neondatabase/serverless';
import WebSocket from 'ws';
import { type RunningBridge, startBridge, startTcpServer, type TcpTarget } from '../helpers/bridge.js';
import { type Postgres, postgresBin, requirePostgres, startPostgres } from '../helpers/postgres.js';

let pg: Postgres | undefined;
let bridge: RunningBridge;
let forbidden: TcpTarget;

// The settings docs/clients.md gives for a local Postgres behind wstcp: ws:// (no TLS on the bridge here),
// no pipelined password (SCRAM needs a round trip), no pipelined TLS (plain Postgres does not take it).
neonConfig.webSocketConstructor = WebSocket;
neonConfig.useSecureWebSocket = false;
neonConfig.pipelineConnect = false;
neonConfig.pipelineTLS = false;

before(async () => {
  forbidden = await startTcpServer((socket) => socket.destroy());
  const bin = postgresBin();
  if (!bin) return;
  pg = await startPostgres(bin);
  bridge = await startBridge(['--target-from-url', '--allow-target', `127.0.0.1:${pg.port}`, '127.0.0.1:0']);
});
after(async () => {
  await bridge?.close();
  pg?.stop();
  await forbidden.close();
});

async function connected(url: string): Promise<Client> {
  const client = new Client(url);
  client.on('error', () => {});
  await client.connect();
  return client;
}

test('string wsProxy ("localhost:PORT/v1", the driver appends ?address=): create, insert, select, a transaction', async (t) => {
  if (!requirePostgres(t) || !pg) return;
  neonConfig.wsProxy = `localhost:${bridge.port}/v1`;
  const client = await connected(pg.url);
  try {
    await client.query('CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)');
    await client.query('INSERT INTO notes (body) VALUES ($1), ($2)', ['one', 'two']);
    await client.query('BEGIN');
    await client.query('INSERT INTO notes (body) VALUES ($1)', ['rolled back']);
    await client.query('ROLLBACK');
    await client.query('BEGIN');
    await client.query('INSERT INTO notes (body) VALUES ($1)', ['committed']);
    await client.query('COMMIT');
    const { rows } = await client.query('SELECT body FROM notes ORDER BY id');
    assert.deepEqual(
      rows.map((row) => row.body),
      ['one', 'two', 'committed'],
    );
    const auth = await client.query(
      "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' AS scram FROM pg_authid WHERE rolname = current_user",
    );
    assert.equal(auth.rows[0].scram, true);
  } finally {
    await client.end();
  }
});

test('function wsProxy ((host, port) => "127.0.0.1:PORT/host:port", the path form)', async (t) => {
  if (!requirePostgres(t) || !pg) return;
  neonConfig.wsProxy = (host, port) => `127.0.0.1:${bridge.port}/db/${host}:${port}`;
  const client = await connected(pg.url);
  try {
    const { rows } = await client.query('SELECT $1::int + 1 AS n', [41]);
    assert.equal(rows[0].n, 42);
  } finally {
    await client.end();
    neonConfig.wsProxy = undefined as unknown as string;
  }
});

test('an address outside --allow-target: the driver gets an error, nothing connects to that port', async (t) => {
  if (!requirePostgres(t) || !pg) return;
  neonConfig.wsProxy = `127.0.0.1:${bridge.port}/v1`;
  const client = new Client(`postgres://wstcp:x@127.0.0.1:${forbidden.port}/postgres`);
  client.on('error', () => {});
  // The driver rejects with the WebSocket's error event, whose message carries the HTTP status.
  await assert.rejects(client.connect(), (event: { message?: string }) => /403/.test(event.message ?? ''));
  assert.equal(forbidden.sockets.length, 0);
  assert.ok(bridge.logs.some((line) => line.includes('WSTCP_TARGET_NOT_ALLOWED')));
});
