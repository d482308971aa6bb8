// --syslog SERVER / --legacy-syslog: log lines reach a real syslog receiver (a UDP socket on loopback, or a
// unix datagram socket like /dev/log) with websockify's header format and the right priority
// (facility user, or daemon under --daemon; severity from the level).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { parseArgs } from '../../src/cli.js';
import { ConfigError } from '../../src/errors.js';
import { formatSyslog, syslogPriority } from '../../src/observe/syslog.js';
import { expectRefusal, waitFor } from '../helpers/bridge.js';
import { spawnWstcp } from '../helpers/process.js';
import { requireProgram } from '../helpers/programs.js';
import { startWebsockify } from '../helpers/websockify.js';

const RFC5424 = /^<(\d+)>1 (\S+) (\S+) (\S+) (\d+) - - (.*)$/s;
const RFC3164 = /^<(\d+)>(\S+)\[(\d+)\]: (.*)$/s;
const USER_INFO = 8 + 6;
const USER_WARNING = 8 + 4;

/** A syslog server on a UDP loopback port, collecting every datagram as text. */
async function udpReceiver(t: TestContext): Promise<{ port: number; messages: string[] }> {
  const socket: Socket = createSocket('udp4');
  const messages: string[] = [];
  socket.on('message', (data) => messages.push(data.toString('utf8')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  t.after(() => socket.close());
  return { port: socket.address().port, messages };
}

function find(messages: string[], text: string): string | undefined {
  return messages.find((m) => m.includes(text));
}

test('--syslog host:port: RFC 5424 lines over UDP, user.info and user.warning', async (t) => {
  const syslog = await udpReceiver(t);
  // Port 1 on loopback is closed: every handshake is refused with a warning line.
  const wstcp = await spawnWstcp(['--syslog', `127.0.0.1:${syslog.port}`, '127.0.0.1:0', '127.0.0.1:1']);
  t.after(() => wstcp.kill('SIGKILL'));
  await waitFor(() => find(syslog.messages, 'bridge.listening') !== undefined, 5000, 'the listening line');

  const listening = RFC5424.exec(find(syslog.messages, 'bridge.listening')!);
  assert.ok(listening, 'RFC 5424 header');
  const [, pri, time, host, app, pid, message] = listening;
  assert.equal(Number(pri), USER_INFO);
  assert.ok(Math.abs(Date.parse(time!) - Date.now()) < 60000, 'a current RFC 3339 timestamp');
  assert.equal(host, hostname());
  assert.equal(app, 'wstcp');
  assert.equal(Number(pid), wstcp.child.pid);
  // --log-format json is on stderr and on syslog alike.
  assert.equal(JSON.parse(message!).event, 'bridge.listening');

  const refusal = await expectRefusal(`ws://127.0.0.1:${wstcp.port}`);
  assert.equal(refusal.status, 502);
  await waitFor(() => find(syslog.messages, 'handshake.refused') !== undefined, 5000, 'the refusal line');
  const refused = RFC5424.exec(find(syslog.messages, 'handshake.refused')!);
  assert.equal(Number(refused?.[1]), USER_WARNING);

  wstcp.kill('SIGTERM');
  assert.equal(await wstcp.exited, 0);
  await waitFor(() => find(syslog.messages, 'bridge.stopped') !== undefined, 5000, 'the last line');
});

test('--legacy-syslog: RFC 3164 lines, <PRI>wstcp[PID]: message', async (t) => {
  const syslog = await udpReceiver(t);
  const wstcp = await spawnWstcp([
    '--syslog',
    `localhost:${syslog.port}`,
    '--legacy-syslog',
    '--timeout',
    '0.2',
    '127.0.0.1:0',
    '127.0.0.1:1',
  ]);
  t.after(() => wstcp.kill('SIGKILL'));
  assert.equal(await wstcp.exited, 0);
  await waitFor(() => find(syslog.messages, 'bridge.stopped') !== undefined, 5000, 'the last line');
  const line = RFC3164.exec(find(syslog.messages, 'bridge.listening')!);
  assert.ok(line, 'RFC 3164 form');
  assert.equal(Number(line[1]), USER_INFO);
  assert.equal(line[2], 'wstcp');
  assert.equal(Number(line[3]), wstcp.child.pid);
});

test("websockify's syslog lines have the same header and priority", async (t) => {
  const syslog = await udpReceiver(t);
  const websockify = await startWebsockify(t, {
    target: '127.0.0.1:1',
    options: ['--syslog', `127.0.0.1:${syslog.port}`],
  });
  if (!websockify) return;
  await waitFor(() => syslog.messages.length > 0, 5000, "websockify's first syslog line");
  const theirs = RFC5424.exec(syslog.messages[0]!);
  assert.ok(theirs, `websockify sent RFC 5424: ${syslog.messages[0]}`);
  assert.equal(Number(theirs[1]), USER_INFO);
  assert.equal(theirs[3], hostname());
  assert.equal(Number(theirs[5]), websockify.child.pid);
  assert.equal(theirs[4], 'websockify');
  // wstcp's info line: same layout, PRI and HOSTNAME (its timestamp has milliseconds, which RFC 5424 allows).
  const ours = RFC5424.exec(formatSyslog(syslogPriority('user', 'info'), 'x', { legacy: false }).toString());
  assert.ok(ours);
  assert.equal(ours[1], theirs[1]);
  assert.equal(ours[3], theirs[3]);
  assert.equal(ours[4], 'wstcp');
});

test('--syslog PATH: a local unix datagram socket such as /dev/log', async (t) => {
  const python = requireProgram(t, 'python3');
  const logger = requireProgram(t, 'logger', 'bsdutils');
  if (!python || !logger) return;
  const dir = mkdtempSync(join(tmpdir(), 'wstcp-syslog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'log');
  // Node cannot open a unix datagram socket, so the receiving end is a small Python syslog "daemon".
  const receiver = spawn(
    python,
    [
      '-c',
      'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\n' +
        'while True:\n  d=s.recv(65536)\n  sys.stdout.write(d.decode().replace("\\n"," ")+"\\n")\n  sys.stdout.flush()\n',
      path,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => receiver.kill('SIGKILL'));
  const messages: string[] = [];
  receiver.stdout.setEncoding('utf8').on('data', (text: string) => messages.push(...text.split('\n')));
  await waitFor(() => existsSync(path), 5000, 'the unix socket');

  const wstcp = await spawnWstcp(['--syslog', path, '--timeout', '0.2', '127.0.0.1:0', '127.0.0.1:1']);
  t.after(() => wstcp.kill('SIGKILL'));
  assert.equal(await wstcp.exited, 0);
  await waitFor(() => find(messages, 'bridge.stopped') !== undefined, 5000, 'the last line');
  const line = RFC5424.exec(find(messages, 'bridge.listening')!);
  assert.ok(line, 'RFC 5424 header');
  assert.equal(Number(line[1]), USER_INFO);
  assert.equal(line[4], 'wstcp');
  assert.equal(Number(line[5]), wstcp.child.pid);
});

test('priorities: facility user, or daemon under --daemon; severity from the level', () => {
  assert.equal(syslogPriority('user', 'debug'), 15);
  assert.equal(syslogPriority('user', 'error'), 11);
  assert.equal(syslogPriority('daemon', 'info'), 30);
  assert.equal(syslogPriority('daemon', 'warn'), 28);
  const line = formatSyslog(14, 'two\nlines', { legacy: true, pid: 7 }).toString();
  assert.equal(line, '<14>wstcp[7]: two lines');
  const utf8 = formatSyslog(14, 'café', { legacy: false, host: 'h', pid: 7, time: new Date(0) });
  assert.equal(utf8.toString(), '<14>1 1970-01-01T00:00:00.000Z h wstcp 7 - - \ufeffcafé');
});

test('bad --syslog forms are ConfigErrors naming the flag; a missing socket stops the start', async () => {
  const cases: [string[], RegExp][] = [
    [['--legacy-syslog', '6080', 'h:1'], /--legacy-syslog needs --syslog/],
    [['--syslog', 'host:notaport', '6080', 'h:1'], /--syslog/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseArgs(argv),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
      argv.join(' '),
    );
  }
  const missing = await spawnWstcp(['--syslog', '/nonexistent/wstcp-log', '127.0.0.1:0', '127.0.0.1:1']);
  assert.equal(await missing.exited, 2);
  assert.match(missing.stderr(), /^wstcp: --syslog \/nonexistent\/wstcp-log: no unix socket/);
});
