/**
 * Command feeds (`--channel-feed ID=cmd:COMMAND`): one program whose stdout is published to a channel,
 * restarted with backoff when it exits, its stderr logged, and nothing of it left once wstcp stops.
 * Real programs (sh), a real bridge and real WebSocket subscribers.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import { ChannelFeed, parseFeedSpec } from '../../src/channels/feed.js';
import { CommandFeedSource } from '../../src/channels/feed-source-command.js';
import { MemoryChannelStore } from '../../src/channels/memory-store.js';
import type { PublishInput } from '../../src/channels/store.js';
import { parseArgs } from '../../src/cli.js';
import { ConfigError } from '../../src/errors.js';
import { Logger } from '../../src/observe/log.js';
import { startBridge } from '../helpers/bridge.js';
import { logEvents, WsStream } from '../helpers/channels.js';
import { writeScript } from '../helpers/commands.js';
import { openFds } from '../helpers/fds.js';
import { spawnWstcp } from '../helpers/process.js';
import { childrenOf, eventually, groupMembers } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

async function feedBridge(t: { after(fn: () => unknown): void }, feed: string, ...more: string[]) {
  const bridge = await startBridge([
    '--channels',
    '127.0.0.1:0',
    '--log-format',
    'json',
    '-v',
    '--channel-feed',
    feed,
    ...more,
  ]);
  t.after(() => bridge.close());
  return bridge;
}

async function subscribe(t: { after(fn: () => unknown): void }, port: number, channel: string) {
  const ws = new WsStream(`ws://127.0.0.1:${port}/sub/${channel}`);
  await ws.opened;
  t.after(() => ws.close());
  return ws;
}

function startedPid(logs: readonly string[]): number {
  return Number(logEvents(logs, 'channel.feed_started')[0]?.pid);
}

test('cmd: is a command, split into words like --cmd, never a host named cmd', () => {
  assert.deepEqual(parseFeedSpec(`ticks=cmd:python3 -u 'my ticker.py' --every 1`), {
    channel: 'ticks',
    target: { kind: 'command', argv: ['python3', '-u', 'my ticker.py', '--every', '1'] },
  });
  assert.deepEqual(parseFeedSpec('x=cmd:8080').target, { kind: 'command', argv: ['8080'] });
  assert.throws(() => parseFeedSpec('x=cmd:'), /--channel-feed x: cmd: needs a program/);
  assert.throws(() => parseFeedSpec(`x=cmd:echo 'oops`), ConfigError);
});

test('a program feed reaches a WebSocket subscriber line by line, with WSTCP_CHANNEL set', async (t) => {
  const bridge = await feedBridge(
    t,
    `ticks=cmd:sh -c 'i=0; while [ $i -lt 5 ]; do echo tick$i-$WSTCP_CHANNEL; i=$((i+1)); sleep 0.05; done; sleep 30'`,
  );
  const ws = await subscribe(t, bridge.port, 'ticks');
  const messages = await ws.waitFor(5);
  assert.deepEqual(
    messages.map((m) => m.data.toString()),
    ['tick0-ticks', 'tick1-ticks', 'tick2-ticks', 'tick3-ticks', 'tick4-ticks'],
  );
  assert.ok(messages.every((m) => !m.binary));
});

// A feed program is a long-running source: when it exits it is started again, with backoff between runs.
test('a program that exits is restarted with backoff, with a log line per start and per exit', async (t) => {
  const bridge = await feedBridge(t, `once=cmd:sh -c 'echo hello; exit 3'`);
  const ws = await subscribe(t, bridge.port, 'once');
  await ws.waitFor(4, 8000);
  assert.ok(ws.messages.slice(0, 4).every((m) => m.data.toString() === 'hello'));
  const exits = logEvents(bridge.logs, 'channel.feed_exited');
  const starts = logEvents(bridge.logs, 'channel.feed_started');
  assert.ok(exits.length >= 3 && starts.length >= 4, `${starts.length} starts, ${exits.length} exits`);
  assert.equal(exits[0]?.channel, 'once');
  assert.equal(exits[0]?.code, 3);
  assert.equal(exits[0]?.signal, null);
  const delays = exits.slice(0, 3).map((e) => Number(e.retry_ms));
  assert.deepEqual(delays, [100, 200, 400]);
  for (let i = 0; i < 3; i++) {
    const waited = Date.parse(String(starts[i + 1]?.time)) - Date.parse(String(exits[i]?.time));
    assert.ok(waited >= delays[i]! - 5, `restart ${i + 1} came ${waited} ms after the exit`);
  }
});

test('--channel-feed-mode chunks publishes each read of stdout as it comes', async (t) => {
  const bridge = await feedBridge(
    t,
    `parts=cmd:sh -c 'printf abc; sleep 0.3; printf "de\\nf"; sleep 30'`,
    '--channel-feed-mode',
    'chunks',
  );
  const ws = await subscribe(t, bridge.port, 'parts');
  assert.deepEqual(
    (await ws.waitFor(2)).map((m) => m.data.toString()),
    ['abc', 'de\nf'],
  );
});

test("the program's stderr goes to the log, tagged with the channel, never to the channel", async (t) => {
  const bridge = await feedBridge(t, `mixed=cmd:sh -c 'echo secret-diagnostic >&2; echo out; sleep 30'`);
  const ws = await subscribe(t, bridge.port, 'mixed');
  await ws.waitFor(1);
  await eventually(() => logEvents(bridge.logs, 'channel.feed_stderr').length > 0, 'the stderr line logged');
  const [stderr] = logEvents(bridge.logs, 'channel.feed_stderr');
  assert.equal(stderr?.channel, 'mixed');
  assert.equal(stderr?.line, 'secret-diagnostic');
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(
    ws.messages.map((m) => m.data.toString()),
    ['out'],
  );
});

test('the program gets no input: its stdin is at end of file at once', async (t) => {
  const bridge = await feedBridge(
    t,
    `input=cmd:sh -c 'if read line; then echo got; else echo eof; fi; sleep 30'`,
  );
  const ws = await subscribe(t, bridge.port, 'input');
  assert.equal((await ws.waitFor(1))[0]?.data.toString(), 'eof');
});

// Secrets in wstcp's environment must not reach a feed's program: only --pass-env names, HOME and WSTCP_CHANNEL.
test('the program gets a small environment: --pass-env names, HOME and WSTCP_CHANNEL, nothing else', async (t) => {
  const wstcp = await spawnWstcp(
    [
      '--channels',
      '127.0.0.1:0',
      '--pass-env',
      'PATH,FEED_SETTING',
      '--channel-feed',
      `env=cmd:sh -c 'echo "$WSTCP_CHANNEL|$FEED_SETTING|\${HOME:+home}|\${FEED_SECRET:-none}"; sleep 30'`,
    ],
    20000,
    { ...process.env, HOME: '/tmp', FEED_SETTING: 'kept', FEED_SECRET: 'hunter2' },
  );
  t.after(() => wstcp.kill());
  const ws = await subscribe(t, wstcp.port, 'env');
  assert.equal((await ws.waitFor(1))[0]?.data.toString(), 'env|kept|home|none');
  assert.deepEqual(
    parseArgs(['--channels', '0', '--channel-feed', 'x=cmd:true', '--close-ms', '50']).channels?.feedPrograms,
    {
      passEnv: 'PATH,LD_LIBRARY_PATH',
      closeMs: 50,
    },
  );
  assert.throws(
    () => parseArgs(['--channels', '0', '--channel-feed', 'x=127.0.0.1:1', '--pass-env', 'PATH']),
    /--pass-env needs --cmd/,
  );
});

test('a program not found on PATH stops wstcp at startup: exit 2, one line naming --channel-feed', async () => {
  const wstcp = await spawnWstcp([
    '--channels',
    '127.0.0.1:0',
    '--channel-feed',
    'x=cmd:no-such-feed-program-4711',
  ]);
  assert.equal(await wstcp.exited, 2);
  assert.match(wstcp.stderr(), /--channel-feed x: no-such-feed-program-4711 was not found/);
  assert.equal(wstcp.port, 0);
});

// A program that cannot start later (deleted, made non-executable) must not crash wstcp: it is retried.
test('a program that cannot start at runtime is logged and retried with backoff until it can', async (t) => {
  const tmp = tempDir(t);
  const body = '#!/bin/sh\necho alive\n';
  const script = writeScript(tmp.dir, 'feeder', body);
  const bridge = await feedBridge(t, `late=cmd:${script}`);
  const ws = await subscribe(t, bridge.port, 'late');
  await ws.waitFor(1);
  chmodSync(script, 0o644);
  await eventually(() => logEvents(bridge.logs, 'channel.feed_start_failed').length >= 2, 'failed starts');
  const failed = logEvents(bridge.logs, 'channel.feed_start_failed');
  assert.match(String(failed[0]?.error), /EACCES/);
  assert.ok(Number(failed[1]?.retry_ms) > Number(failed[0]?.retry_ms), 'the retry delay backs off');
  rmSync(script);
  await eventually(
    () => logEvents(bridge.logs, 'channel.feed_start_failed').some((e) => /ENOENT/.test(String(e.error))),
    'a failed start for the missing program',
  );
  const before = ws.messages.length;
  writeScript(tmp.dir, 'feeder', body);
  await ws.waitFor(before + 1, 8000);
  assert.equal(ws.messages[before]?.data.toString(), 'alive');
});

test('close() stops the program and its process group; no child and no descriptor is left', async (t) => {
  const fdsBefore = openFds();
  const bridge = await startBridge([
    '--channels',
    '127.0.0.1:0',
    '--log-format',
    'json',
    '--channel-feed',
    `bg=cmd:sh -c 'sleep 30 & echo up; wait'`,
  ]);
  const ws = await subscribe(t, bridge.port, 'bg');
  await ws.waitFor(1);
  const pid = startedPid(bridge.logs);
  assert.ok(pid > 0);
  assert.equal(groupMembers(pid).length, 2, 'sh and its background sleep run');
  ws.close();
  await bridge.close();
  // close() awaited the program: it has been reaped, so it is no child (not even a zombie) of this process.
  assert.deepEqual(
    childrenOf().filter((p) => p.pgid === pid),
    [],
    'no child of this process is left from the feed',
  );
  // SIGKILL reached the group before close() resolved; the kernel ends a killed process within moments.
  await eventually(() => groupMembers(pid).length === 0, 'nothing of the program group left', 1000);
  await eventually(() => openFds() <= fdsBefore, `descriptors back to ${fdsBefore} (${openFds()})`);
});

test('wstcp SIGTERM stops a feed program that ignores SIGINT and SIGTERM, and exits 0', async (t) => {
  const wstcp = await spawnWstcp([
    '--channels',
    '127.0.0.1:0',
    '--close-ms',
    '0',
    '--channel-feed',
    `stubborn=cmd:sh -c 'trap "" INT TERM; sleep 30 & echo up; while :; do sleep 0.1; done'`,
  ]);
  // The line reaching a subscriber shows the program runs and wstcp serves (its signal handlers are set).
  const ws = await subscribe(t, wstcp.port, 'stubborn');
  assert.equal((await ws.waitFor(1))[0]?.data.toString(), 'up');
  const pid = Number(wstcp.lines.find((l) => l.event === 'channel.feed_started')?.pid);
  await eventually(() => groupMembers(pid).length >= 2, 'the program and its background sleep run');
  wstcp.kill('SIGTERM');
  assert.equal(await wstcp.exited, 0);
  await eventually(() => groupMembers(pid).length === 0, 'SIGKILL to reach the whole group', 1000);
});

test('a slow store pauses the program: a flood of output waits in the pipe, not in memory', async (t) => {
  const logs: string[] = [];
  const log = new Logger({ level: 'debug', format: 'json', sink: (line) => logs.push(line) });
  const store = new MemoryChannelStore({
    maxMessages: 10,
    maxBytes: 1 << 20,
    ttlMs: 0,
    maxChannels: 10,
    log,
  });
  // The store holds every publish until `open` is called: a store that has stopped answering.
  let held = 0;
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const slowStore = Object.create(store) as MemoryChannelStore;
  slowStore.publish = async (channel: string, input: PublishInput) => {
    held++;
    await opened;
    return store.publish(channel, input);
  };
  const { channel, target } = parseFeedSpec(`flood=cmd:sh -c 'while :; do echo 0123456789; done'`);
  assert.ok(target.kind === 'command');
  const feed = new ChannelFeed({
    channel,
    source: new CommandFeedSource({
      channel,
      argv: ['/bin/sh', ...target.argv.slice(1)],
      passEnv: 'PATH',
      closeMs: 0,
      log,
    }),
    mode: 'chunks',
    store: slowStore,
    log,
    maxMessageBytes: 1 << 20,
  });
  t.after(async () => {
    await feed.close();
    await store.close();
  });
  feed.start();
  await eventually(() => logEvents(logs, 'channel.feed_started').length > 0, 'the program started');
  const pid = startedPid(logs);
  // /proc/PID/io wchar: the bytes the program has written so far.
  const written = () => Number(/wchar: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1]);
  await eventually(() => held > 0, 'the first publish');
  await new Promise((r) => setTimeout(r, 300));
  const before = written();
  await new Promise((r) => setTimeout(r, 300));
  // Flowing, `sh` would write megabytes in 300 ms; paused, it is blocked on the full pipe.
  assert.equal(written(), before, 'the program is blocked on its pipe');
  open();
  await eventually(() => written() > before, 'the program writing again once the store answers');
  await eventually(() => feed.published > 64, 'publishing resumed');
  await feed.close();
  await eventually(() => groupMembers(pid).length === 0, 'the program gone after close()', 1000);
});
