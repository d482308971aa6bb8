/**
 * --syslog SERVER: every log line also goes to syslog, as websockify sends it (sysloghandler.py): RFC 5424
 * (`<PRI>1 TIMESTAMP HOST wstcp PID - - MSG`), or with --legacy-syslog RFC 3164 (`<PRI>wstcp[PID]: MSG`).
 * The facility is `user`, or `daemon` under --daemon. SERVER is UDP `host:port`, or a local unix socket
 * such as /dev/log.
 *
 * Node has no unix datagram sockets (and /dev/log is one on Debian, for rsyslog and journald alike), so a
 * local socket is written through util-linux `logger` (a Debian essential package) reading one
 * `<PRI>message` line at a time; it tries datagram and then stream, as Python's SysLogHandler does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { delimiter, join } from 'node:path';
import { formatHostPort } from '../address.js';
import type { SyslogConfig } from '../config/config.js';
import { ConfigError } from '../errors.js';
import type { LogForwarder, LogLevel } from './log.js';

export type SyslogFacility = 'user' | 'daemon';

const FACILITY: Record<SyslogFacility, number> = { user: 1, daemon: 3 };
/** RFC 5424 severities, mapped as Python's SysLogHandler.mapPriority does. */
const SEVERITY: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };
const IDENT = 'wstcp';
/** rsyslog's default maximum message size; longer messages are cut, not dropped. */
const MAX_MESSAGE_BYTES = 8192;
const UTF8_BOM = '\ufeff';
const CLOSE_GRACE_MS = 1000;

/** The PRI value: facility * 8 + severity. */
export function syslogPriority(facility: SyslogFacility, level: LogLevel): number {
  return FACILITY[facility] * 8 + SEVERITY[level];
}

/**
 * One syslog message for the network. Line breaks become spaces (one message, one line); RFC 5424 marks a
 * non-ASCII message with a BOM as the RFC asks.
 */
export function formatSyslog(
  priority: number,
  message: string,
  options: { legacy: boolean; host?: string; pid?: number; time?: Date },
): Buffer {
  const text = message.replace(/[\r\n]+/g, ' ');
  const pid = options.pid ?? process.pid;
  let line: string;
  if (options.legacy) {
    line = `<${priority}>${IDENT}[${pid}]: ${text}`;
  } else {
    const time = (options.time ?? new Date()).toISOString();
    const host = (options.host ?? hostname()).slice(0, 255) || '-';
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII is exactly what is being tested for.
    const body = /^[\x00-\x7f]*$/.test(text) ? text : `${UTF8_BOM}${text}`;
    line = `<${priority}>1 ${time} ${host} ${IDENT} ${pid} - - ${body}`;
  }
  const bytes = Buffer.from(line, 'utf8');
  return bytes.length > MAX_MESSAGE_BYTES ? bytes.subarray(0, MAX_MESSAGE_BYTES) : bytes;
}

/**
 * Opens the --syslog destination. Throws ConfigError when a local socket is asked for and `logger` is not
 * installed. Send failures never throw: the first one is reported on stderr, later ones are dropped.
 */
export function openSyslog(config: SyslogConfig, facility: SyslogFacility): LogForwarder {
  if (config.server.kind === 'udp') return new UdpSyslog(config.server, config.legacy, facility);
  return new LocalSyslog(config.server.path, config.legacy, facility);
}

class UdpSyslog implements LogForwarder {
  private readonly socket: Socket;
  private pending = 0;
  private reported = false;
  private readonly name: string;

  constructor(
    private readonly server: { readonly host: string; readonly port: number },
    private readonly legacy: boolean,
    private readonly facility: SyslogFacility,
  ) {
    this.name = formatHostPort(server.host, server.port);
    this.socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    this.socket.on('error', (err) => this.report(err));
    // Logging must never be what keeps the process alive.
    this.socket.unref();
  }

  send(level: LogLevel, message: string): void {
    const datagram = formatSyslog(syslogPriority(this.facility, level), message, { legacy: this.legacy });
    this.pending++;
    this.socket.send(datagram, this.server.port, this.server.host, (err) => {
      this.pending--;
      if (err) this.report(err);
    });
  }

  async close(): Promise<void> {
    // A send still resolving the host name would be dropped by close(): give those a moment.
    const deadline = Date.now() + CLOSE_GRACE_MS;
    while (this.pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private report(err: Error): void {
    if (this.reported) return;
    this.reported = true;
    process.stderr.write(`wstcp: cannot send to syslog at ${this.name}: ${err.message}\n`);
  }
}

class LocalSyslog implements LogForwarder {
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private stopped = false;
  private reported = false;

  constructor(
    private readonly path: string,
    legacy: boolean,
    private readonly facility: SyslogFacility,
  ) {
    if (!isSocket(path)) throw new ConfigError(`--syslog ${path}: no unix socket there (is syslog running?)`);
    const logger = findLogger();
    if (!logger)
      throw new ConfigError(
        `--syslog ${path}: a local syslog socket needs the "logger" program (apt-get install bsdutils), or give a UDP host:port`,
      );
    this.child = spawn(
      logger,
      [
        '--socket',
        path,
        '--socket-errors=on',
        legacy ? '--rfc3164' : '--rfc5424=notq',
        '--tag',
        IDENT,
        `--id=${process.pid}`,
        '--prio-prefix',
      ],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    this.exited = new Promise((resolve) => this.child.once('close', () => resolve()));
    this.child.on('error', (err) => this.report(err.message));
    // A broken pipe means logger has quit; its exit reports why.
    this.child.stdin!.on('error', () => {
      this.stopped = true;
    });
    let complaint = '';
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      complaint += text;
    });
    this.child.once('exit', (code) => {
      if (code !== 0) this.report(complaint.trim().split('\n')[0] || `logger exited with code ${code}`);
    });
    this.child.unref();
  }

  send(level: LogLevel, message: string): void {
    if (this.stopped) return;
    const text = message.replace(/[\r\n]+/g, ' ');
    this.child.stdin!.write(`<${syslogPriority(this.facility, level)}>${text}\n`);
  }

  async close(): Promise<void> {
    this.child.stdin!.end();
    const grace = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
    await Promise.race([this.exited, grace]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
  }

  private report(why: string): void {
    this.stopped = true;
    if (this.reported) return;
    this.reported = true;
    process.stderr.write(`wstcp: cannot send to syslog at ${this.path}: ${why}\n`);
  }
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

function findLogger(): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin']) {
    if (!dir) continue;
    const candidate = join(dir, 'logger');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}
