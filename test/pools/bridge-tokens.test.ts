// Pools named by token stores (issue 16): a token file edited while sessions run (live sessions stay on
// their member, new ones use the new pool), a pool in a real Redis, a JWT `targets` claim, --allow-target
// checking every member, and `wstcp tokens get` showing each member's state.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import type WebSocket from 'ws';
import { tokensCommand } from '../../src/tokens/cli.js';
import { closed, expectRefusal, openClient, receive, startBridge } from '../helpers/bridge.js';
import { startNamedMembers } from '../helpers/pool-members.js';
import { freePort } from '../helpers/ports.js';
import { requireProgram } from '../helpers/programs.js';
import { tempDir } from '../helpers/tmp.js';
import { startRedis } from '../helpers/tokens.js';

async function session(url: string): Promise<{ ws: WebSocket; member: string }> {
  const ws = await openClient(url);
  return { ws, member: (await receive(ws, 3)).toString().trim() };
}

async function names(url: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const { ws, member } = await session(url);
    out.push(member);
    ws.close(1000);
    await closed(ws);
  }
  return out;
}

/** Polls until sessions on `url` reach only members in `expected` (a store edit takes a moment). */
async function untilRoutedTo(url: string, expected: string[]): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const seen = await names(url, expected.length * 2).catch((): string[] => []);
    if (seen.length > 0 && seen.every((n) => expected.includes(n)) && expected.every((n) => seen.includes(n)))
      return;
    if (Date.now() > deadline) assert.fail(`sessions still reach ${seen}, not only ${expected}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The session echoes what it is sent: it still reaches its member. */
async function stillRelays(ws: WebSocket): Promise<void> {
  ws.send(Buffer.from('ping'));
  assert.equal((await receive(ws, 4)).toString(), 'ping');
}

test('a pool in a token file edited live: new sessions use the new pool, live ones stay', async (t) => {
  const members = await startNamedMembers(['m0', 'm1', 'm2']);
  t.after(() => Promise.all(members.map((m) => m.server.close())));
  const [a, b, c] = members.map((m) => m.address);
  const file = join(tempDir(t).dir, 'tokens');
  writeFileSync(file, `desk: ${a} weight=1, ${b}\n`);
  const bridge = await startBridge(['127.0.0.1:0', '--tokens', `file:${file}`]);
  t.after(() => bridge.close());
  const url = `${bridge.url}/websockify?token=desk`;
  await untilRoutedTo(url, ['m0', 'm1']);
  const live = await session(url);

  writeFileSync(file, `desk: ${c}@2, ${b} backup\n`);
  await untilRoutedTo(url, ['m2']);
  await stillRelays(live.ws);
  live.ws.close(1000);
  await closed(live.ws);
});

test('a pool from a real Redis, as JSON "targets"; an update moves new sessions only', async (t) => {
  const program = requireProgram(t, 'redis-server');
  if (!program) return;
  const members = await startNamedMembers(['m0', 'm1', 'm2']);
  t.after(() => Promise.all(members.map((m) => m.server.close())));
  const [a, b, c] = members.map((m) => m.address);
  const redis = await startRedis(t, program);
  await redis.cli('SET', 'desk:one', JSON.stringify({ targets: [a, b] }));
  const bridge = await startBridge([
    '127.0.0.1:0',
    '--token-plugin',
    'TokenRedis',
    '--token-source',
    `127.0.0.1:${redis.port}:::desk`,
  ]);
  t.after(() => bridge.close());
  const url = `${bridge.url}/websockify?token=one`;
  await untilRoutedTo(url, ['m0', 'm1']);
  const live = await session(url);
  await redis.cli('SET', 'desk:one', `${c},${a} backup`);
  await untilRoutedTo(url, ['m2']);
  await stillRelays(live.ws);
  live.ws.terminate();
});

test('a JWT whose "targets" claim names a pool', async (t) => {
  const members = await startNamedMembers(['m0', 'm1']);
  t.after(() => Promise.all(members.map((m) => m.server.close())));
  const secret = Buffer.alloc(32, 7);
  const keyFile = join(tempDir(t).dir, 'jwt.key');
  writeFileSync(keyFile, secret.toString('base64url'));
  const bridge = await startBridge([
    '127.0.0.1:0',
    '--token-plugin',
    'JWTTokenApi',
    '--token-source',
    keyFile,
  ]);
  t.after(() => bridge.close());
  const jwt = await new SignJWT({ targets: members.map((m) => m.address).join(',') })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(secret);
  assert.deepEqual((await names(`${bridge.url}/websockify?token=${jwt}`, 4)).sort(), [
    'm0',
    'm0',
    'm1',
    'm1',
  ]);
});

test('--allow-target refuses a pool with one member outside it, and lets the others through', async (t) => {
  const members = await startNamedMembers(['m0', 'm1', 'm2']);
  t.after(() => Promise.all(members.map((m) => m.server.close())));
  const [a, b, c] = members.map((m) => m.address);
  const file = join(tempDir(t).dir, 'tokens');
  writeFileSync(file, `inside: ${a},${b}\nmixed: ${a},${b},${c} backup\n`);
  const bridge = await startBridge([
    '127.0.0.1:0',
    '--tokens',
    `file:${file}`,
    '--allow-target',
    a!,
    '--allow-target',
    b!,
  ]);
  t.after(() => bridge.close());
  assert.deepEqual((await names(`${bridge.url}/websockify?token=inside`, 2)).sort(), ['m0', 'm1']);
  const refusal = await expectRefusal(`${bridge.url}/websockify?token=mixed`);
  assert.equal(refusal.status, 403);
  assert.equal(members[2]!.server.sockets.length, 0, 'the member outside was never connected');
});

test('wstcp tokens get prints a pool and whether each member answers', async (t) => {
  const [member] = await startNamedMembers(['m0']);
  t.after(() => member!.server.close());
  const dead = `127.0.0.1:${await freePort()}`;
  const file = join(tempDir(t).dir, 'tokens');
  writeFileSync(file, `desk: ${member!.address} weight=2, ${dead} backup\n`);
  const out: string[] = [];
  const err: string[] = [];
  const code = await tokensCommand(['get', 'desk', '--tokens', `file:${file}`, '--token-timeout', '1'], {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  assert.equal(code, 0, err.join('\n'));
  assert.equal(out[0], `${member!.address}@2,${dead}@backup`);
  assert.match(out[1]!, new RegExp(`^  ${member!.address}  weight=2  up$`));
  assert.match(out[2]!, new RegExp(`^  ${dead}  backup  down`));
});
