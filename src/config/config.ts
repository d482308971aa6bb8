/**
 * Raw command-line options -> one frozen Config. Every check a flag can fail lives here and throws a
 * ConfigError whose message names the flag. Feature modules receive the parts they need.
 */
import { resolve } from 'node:path';
import { AddressError, type ListenAddress, parseHostPort, parseListen } from '../address.js';
import { buildChannelConfig, type ChannelConfig, type RawChannelOptions } from '../channels/config.js';
import { ConfigError } from '../errors.js';
import { SUBPROTOCOL_PATTERN } from '../front/handshake.js';
import type { LogFormat, LogLevel } from '../observe/log.js';
import { DEFAULT_PASS_ENV } from '../targets/command/environment.js';
import type { CommandConfig } from '../targets/command/launcher.js';
import { splitWords, WordsError } from '../targets/command/words.js';
import type { BalanceMethod } from '../targets/pool/balance.js';
import { parseTarget } from '../targets/registry.js';
import type { Target } from '../targets/target.js';
import type { UnixTarget } from '../targets/unix.js';
import { type OpsConfig, opsConfig } from './ops-config.js';
import type { RawOptions } from './options.js';

export interface TokenConfig {
  /** websockify plugin class name, or the native store named by --tokens (`file`, `dir`, ...). */
  readonly plugin: string;
  readonly source: string;
  readonly hostToken: boolean;
  readonly lookupTimeoutMs: number;
}

export interface TlsConfig {
  /** Certificate file, or 'auto' for a throwaway self-signed one. */
  readonly cert: string;
  readonly key: string | undefined;
  readonly keyPassword: string | undefined;
  readonly sslOnly: boolean;
  readonly minVersion: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  readonly ciphers: string | undefined;
  readonly verifyClient: boolean;
  readonly cafile: string | undefined;
}

export interface TargetTlsConfig {
  readonly ca: string | undefined;
  readonly insecure: boolean;
}

export interface AuthConfig {
  readonly plugin: string | undefined;
  readonly source: string | undefined;
  readonly origins: readonly string[];
  readonly basicAuth: string | undefined;
  readonly webAuth: boolean;
}

export interface LimitsConfig {
  readonly maxConnections: number | undefined;
  readonly maxConnectionsPerIp: number | undefined;
  /** --max-connections-per-token: live sessions per token (token stores only). */
  readonly maxConnectionsPerToken?: number | undefined;
  /** --limits-store: a Redis URL holding the counts for every instance; undefined: this process (or its primary). */
  readonly store?: string | undefined;
  readonly handshakeTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly maxHeaderBytes: number;
}

/** How pools pick members and judge their health (targets/pool/). */
export interface PoolConfig {
  readonly method: BalanceMethod;
  readonly maxFails: number;
  readonly failTimeoutMs: number;
  /** Active health checks every this many ms; 0: none. */
  readonly healthIntervalMs: number;
}

export interface WebConfig {
  readonly dir: string | undefined;
  readonly listing: boolean;
  readonly novnc: boolean;
}

/** A syslog server (--syslog): a UDP host:port or a local unix socket such as /dev/log. */
export type SyslogServer =
  | { readonly kind: 'udp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

export interface SyslogConfig {
  readonly server: SyslogServer;
  /** --legacy-syslog: RFC 3164 lines instead of RFC 5424. */
  readonly legacy: boolean;
}

/** Extra headers (name, value) for 101 answers and for plain HTTP answers. */
export interface ResponseHeaders {
  readonly ws: readonly (readonly [string, string])[];
  readonly http: readonly (readonly [string, string])[];
}

/** Where the bridge listens: an address to bind, or (--inetd) a listening socket inherited on a descriptor. */
export type ListenSpec = ListenAddress | { readonly kind: 'fd'; readonly fd: number };

export interface Config {
  readonly listen: ListenSpec;
  readonly unixListenMode: number;
  /** The one fixed target; undefined when tokens or the request URL route sessions, a program serves them, or only channels. */
  readonly target: Target | undefined;
  /** --channels: publish/subscribe endpoints (channels/). */
  readonly channels: ChannelConfig | undefined;
  /** --cmd or --dir: a program per session (only ever from the command line). */
  readonly command: CommandConfig | undefined;
  /** --same-origin: the Origin must name the host and port the handshake was sent to. */
  readonly sameOrigin: boolean;
  /** --header, --header-ws, --header-http: extra response headers. */
  readonly headers: ResponseHeaders;
  /** --target-from-url: each client names its target in the URL (vetted by --allow-target, required). */
  readonly targetFromUrl: boolean;
  readonly tokens: TokenConfig | undefined;
  readonly allowTargets: readonly string[];
  /** --subprotocol: accepted besides `binary`, echoed in the 101 when the client offers them. */
  readonly subprotocols: readonly string[];
  readonly connectTimeoutMs: number;
  readonly preferIpv6: boolean;
  readonly heartbeatMs: number | undefined;
  readonly sessionIdleTimeoutMs: number | undefined;
  readonly runOnce: boolean;
  /** --timeout: stop accepting after this long, exit once the sessions have ended. */
  readonly timeoutMs: number | undefined;
  /** --idle-timeout: exit after this long with no session. */
  readonly idleTimeoutMs: number | undefined;
  readonly perMessageDeflate: boolean;
  /** Text messages and close reasons must be valid UTF-8 (1007 otherwise); false: --no-utf8-check. */
  readonly utf8Check: boolean;
  /** Bytes held per direction per session before the sending side is paused. */
  readonly maxBufferBytes: number;
  readonly workers: number | 'auto' | undefined;
  readonly tls: TlsConfig | undefined;
  readonly sslTarget: TargetTlsConfig | undefined;
  readonly auth: AuthConfig;
  readonly limits: LimitsConfig;
  readonly pools: PoolConfig;
  readonly web: WebConfig;
  readonly log: { readonly level: LogLevel; readonly format: LogFormat; readonly file: string | undefined };
  readonly syslog: SyslogConfig | undefined;
  readonly traffic: boolean;
  /** --record FILE: absolute path prefix; session N is recorded to FILE.N. */
  readonly record: string | undefined;
  /** -D/--daemon: detach from the terminal once listening. */
  readonly daemon: boolean;
  /** Metrics, health, drain, the real client address (ops-config.ts). */
  readonly ops: OpsConfig;
  /** Deprecations and other advice to log once at startup. */
  readonly warnings: readonly string[];
}

const TOKEN_PLUGINS = [
  'TokenFile',
  'ReadOnlyTokenFile',
  'TokenFileName',
  'BaseTokenAPI',
  'JSONTokenApi',
  'JWTTokenApi',
  'TokenRedis',
  'UnixDomainSocketDirectory',
] as const;

const REFUSED: Record<string, string> = {
  'wrap-mode': '--wrap-mode and "-- COMMAND" wrapping are not supported: start the program yourself',
};

function str(raw: RawOptions, name: keyof RawOptions): string | undefined {
  const value = raw[name];
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) throw new ConfigError(`--${String(name)} was given more than once`);
  return String(value);
}

function bool(raw: RawOptions, name: keyof RawOptions): boolean {
  return raw[name] === true;
}

/** A non-negative number of seconds (or other unit) or undefined; NaN and negatives are refused. */
function num(raw: RawOptions, name: keyof RawOptions, opts: { positive?: boolean; integer?: boolean } = {}) {
  const value = raw[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw new ConfigError(`--${String(name)} was given more than once`);
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || n < 0 || (opts.positive && n === 0) || (opts.integer && !Number.isInteger(n))) {
    const what = opts.integer ? 'a whole number' : 'a number';
    throw new ConfigError(`--${String(name)} must be ${what}${opts.positive ? ' above 0' : ' of 0 or more'}`);
  }
  return n;
}

function list(raw: RawOptions, name: keyof RawOptions): string[] {
  const value = raw[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

function seconds(raw: RawOptions, name: keyof RawOptions): number | undefined {
  const n = num(raw, name);
  return n === undefined || n === 0 ? undefined : Math.round(n * 1000);
}

function address<T>(flag: string, parse: (s: string) => T, text: string): T {
  try {
    return parse(text);
  } catch (err) {
    if (err instanceof AddressError) throw new ConfigError(`${flag}: ${err.message}`);
    throw err;
  }
}

function tokenConfig(raw: RawOptions, lookupTimeoutMs: number): TokenConfig | undefined {
  const hostToken = bool(raw, 'host-token');
  const plugin = str(raw, 'token-plugin');
  const source = str(raw, 'token-source');
  const targetConfig = str(raw, 'target-config');
  const native = str(raw, 'tokens');
  const given = [plugin && '--token-plugin', targetConfig && '--target-config', native && '--tokens'].filter(
    Boolean,
  );
  if (given.length > 1)
    throw new ConfigError(`${given.join(' and ')} cannot be combined: choose one token store`);
  if (targetConfig) return { plugin: 'TokenFile', source: targetConfig, hostToken, lookupTimeoutMs };
  if (native) return { plugin: 'native', source: native, hostToken, lookupTimeoutMs };
  if (plugin) {
    const known = TOKEN_PLUGINS.find((p) => p === plugin || plugin.endsWith(`.${p}`));
    if (!known)
      throw new ConfigError(
        `--token-plugin: unknown plugin "${plugin}" (known: ${TOKEN_PLUGINS.join(', ')})`,
      );
    if (source === undefined) throw new ConfigError(`--token-plugin ${known} needs --token-source`);
    return { plugin: known, source, hostToken, lookupTimeoutMs };
  }
  if (source !== undefined) throw new ConfigError('--token-source needs --token-plugin');
  if (hostToken) throw new ConfigError('--host-token needs a token store (--token-plugin or --tokens)');
  return undefined;
}

function tlsConfig(raw: RawOptions): TlsConfig | undefined {
  const cert = str(raw, 'cert');
  const sslOnly = bool(raw, 'ssl-only');
  const verifyClient = bool(raw, 'verify-client');
  if (!cert) {
    for (const flag of ['key', 'key-password', 'ssl-ciphers', 'cafile'] as const) {
      if (raw[flag] !== undefined) throw new ConfigError(`--${flag} needs --cert`);
    }
    if (sslOnly) throw new ConfigError('--ssl-only needs --cert (a certificate to serve wss:// with)');
    if (verifyClient) throw new ConfigError('--verify-client needs --cert');
    return undefined;
  }
  const version = str(raw, 'ssl-version') ?? 'default';
  const minVersion = version === 'tlsv1_1' ? 'TLSv1.1' : version === 'tlsv1_3' ? 'TLSv1.3' : 'TLSv1.2';
  return {
    cert,
    key: str(raw, 'key'),
    keyPassword: str(raw, 'key-password'),
    sslOnly,
    minVersion,
    ciphers: str(raw, 'ssl-ciphers'),
    verifyClient,
    cafile: str(raw, 'cafile'),
  };
}

function syslogConfig(raw: RawOptions): SyslogConfig | undefined {
  const server = str(raw, 'syslog');
  const legacy = bool(raw, 'legacy-syslog');
  if (server === undefined) {
    if (legacy) throw new ConfigError('--legacy-syslog needs --syslog SERVER');
    return undefined;
  }
  // As in websockify: anything with a colon is host:port (UDP), anything else a local socket path.
  if (!server.includes(':')) {
    if (server === '') throw new ConfigError('--syslog needs a unix socket path or host:port');
    return { server: { kind: 'unix', path: resolve(server) }, legacy };
  }
  const { host, port } = address('--syslog', parseHostPort, server);
  return { server: { kind: 'udp', host, port }, legacy };
}

function subprotocols(raw: RawOptions): string[] {
  const names = list(raw, 'subprotocol');
  for (const name of names) {
    if (!SUBPROTOCOL_PATTERN.test(name))
      throw new ConfigError(
        `--subprotocol "${name}" is not a subprotocol name (letters, digits, .-_ and such)`,
      );
  }
  return names;
}

function workers(raw: RawOptions): number | 'auto' | undefined {
  const value = str(raw, 'workers');
  if (value === undefined) return undefined;
  if (value === 'auto') return 'auto';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw new ConfigError('--workers must be "auto" or a number 1-256');
  return n;
}

/**
 * --cmd / --dir and the flags that only make sense with them; `programFeeds` (a --channel-feed runs a
 * command) lets --pass-env and --close-ms stand alone, as they apply to that program too.
 */
function commandConfig(raw: RawOptions, programFeeds: boolean): CommandConfig | undefined {
  const cmd = str(raw, 'cmd');
  const dir = str(raw, 'dir');
  if (cmd !== undefined && dir !== undefined)
    throw new ConfigError('--cmd and --dir cannot be combined: choose one');
  if (cmd === undefined && dir === undefined) {
    for (const flag of [
      'binary',
      'max-forks',
      'close-ms',
      'pass-env',
      'reverse-lookup',
      'dev-console',
      'cgi-dir',
    ] as const) {
      if (programFeeds && (flag === 'pass-env' || flag === 'close-ms')) continue;
      if (raw[flag] !== undefined && raw[flag] !== false)
        throw new ConfigError(`--${flag} needs --cmd or --dir`);
    }
    return undefined;
  }
  let argv: string[] | undefined;
  if (cmd !== undefined) {
    try {
      argv = splitWords(cmd);
    } catch (err) {
      if (err instanceof WordsError) throw new ConfigError(`--cmd: ${err.message}`);
      throw err;
    }
    if (argv.length === 0) throw new ConfigError('--cmd needs a program to run');
  }
  if (dir === '') throw new ConfigError('--dir needs a directory');
  const devConsole = bool(raw, 'dev-console');
  const cgiDir = str(raw, 'cgi-dir');
  if (devConsole && (cgiDir !== undefined || str(raw, 'web') !== undefined || bool(raw, 'novnc'))) {
    throw new ConfigError(
      '--dev-console answers every plain request: it cannot be combined with --cgi-dir, --web or --novnc',
    );
  }
  return {
    argv,
    dir: dir === undefined ? undefined : resolve(dir),
    binary: bool(raw, 'binary'),
    closeMs: num(raw, 'close-ms') ?? 0,
    maxForks: num(raw, 'max-forks', { integer: true }) || undefined,
    passEnv: str(raw, 'pass-env') ?? DEFAULT_PASS_ENV,
    reverseLookup: bool(raw, 'reverse-lookup'),
    devConsole,
    cgiDir: cgiDir === undefined ? undefined : resolve(cgiDir),
  };
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** `Name: value` as websocketd takes it; the name must be an HTTP token and the value one line. */
function headerList(raw: RawOptions, name: 'header' | 'header-ws' | 'header-http'): [string, string][] {
  return list(raw, name).map((text) => {
    const colon = text.indexOf(':');
    const field = colon < 0 ? text.trim() : text.slice(0, colon).trim();
    const value = colon < 0 ? '' : text.slice(colon + 1).trim();
    if (!HEADER_NAME.test(field) || /[\r\n\0]/.test(value)) {
      throw new ConfigError(`--${name} "${text}": expected 'Name: value' on one line`);
    }
    return [field, value];
  });
}

/**
 * Builds the Config from parsed flags and positional arguments.
 * Positional forms: `[host:]port [target_host:target_port]`, `--token-plugin X [host:]port`,
 * `--unix-target FILE [host:]port`, `--unix-listen FILE target`.
 */
export function buildConfig(raw: RawOptions): Readonly<Config> {
  for (const [flag, why] of Object.entries(REFUSED)) {
    if (raw[flag as keyof RawOptions] !== undefined && raw[flag as keyof RawOptions] !== false) {
      throw new ConfigError(why);
    }
  }
  if (raw['--'] && raw['--'].length > 0) throw new ConfigError(REFUSED['wrap-mode']!);

  const positional = raw._.map(String);
  const unixListen = str(raw, 'unix-listen');
  const unixTarget = str(raw, 'unix-target');
  const tokens = tokenConfig(raw, Math.round((num(raw, 'token-timeout', { positive: true }) ?? 5) * 1000));
  const inetd = bool(raw, 'inetd');
  const daemon = bool(raw, 'daemon');
  const workerCount = workers(raw);
  const channels = buildChannelConfig(raw as RawChannelOptions);
  if (channels && workerCount !== undefined && !channels.store) {
    throw new ConfigError(
      '--channels with --workers needs --channel-store: each worker would hold channels of its own',
    );
  }
  if (channels?.listen && (inetd || unixListen)) {
    throw new ConfigError(
      `--channels ${channels.listen} names a listen address: with --${inetd ? 'inetd' : 'unix-listen'} give --channels without one`,
    );
  }

  let listen: ListenSpec;
  let rest: string[];
  if (inetd) {
    // websockify's form: `--inetd target`; the listening socket is stdin, so there is no listen argument.
    if (unixListen) throw new ConfigError('--inetd and --unix-listen contradict each other: choose one');
    if (workerCount !== undefined) throw new ConfigError('--workers cannot be combined with --inetd');
    if (positional.length > 1 || (positional[0] !== undefined && !positional[0].includes(':')))
      throw new ConfigError(
        '--inetd takes no listen address: wstcp --inetd [options] target_host:target_port',
      );
    listen = { kind: 'fd', fd: 0 };
    rest = positional;
  } else if (unixListen) {
    listen = { kind: 'unix', path: unixListen };
    rest = positional;
  } else {
    // `--channels [host:]port` is the listen address; the positional arguments then name only a target.
    if (channels?.listen && positional.length > 1) {
      throw new ConfigError(
        `--channels ${channels.listen} is the listen address: give at most a target after it`,
      );
    }
    const [first, ...others] = channels?.listen ? [channels.listen, ...positional] : positional;
    if (first === undefined) {
      throw new ConfigError(
        'missing listen port: wstcp [options] [listen_host:]listen_port target_host:target_port',
      );
    }
    listen = address('listen address', parseListen, first);
    rest = others;
  }
  if (rest.length > 1) throw new ConfigError(`unexpected extra arguments: ${rest.slice(1).join(' ')}`);

  const allowTargets = list(raw, 'allow-target');
  const targetFromUrl = bool(raw, 'target-from-url');
  let target: Target | undefined;
  const command = commandConfig(raw, channels?.feeds.some((feed) => feed.target.kind === 'command') ?? false);
  const targetText = rest[0];
  if (targetFromUrl) {
    const other = tokens
      ? 'a token store'
      : unixTarget
        ? '--unix-target'
        : command
          ? command.argv
            ? '--cmd'
            : '--dir'
          : targetText;
    if (other) throw new ConfigError(`--target-from-url cannot be combined with ${other}: choose one`);
    if (allowTargets.length === 0)
      throw new ConfigError(
        '--target-from-url needs at least one --allow-target (the targets clients may name): wstcp is never an open proxy',
      );
  } else if (command) {
    const flag = command.argv ? '--cmd' : '--dir';
    if (targetText !== undefined)
      throw new ConfigError(`a target (${targetText}) cannot be combined with ${flag}`);
    if (tokens)
      throw new ConfigError(
        `${flag} cannot be combined with a token store: programs come only from the command line`,
      );
    if (unixTarget) throw new ConfigError(`${flag} cannot be combined with --unix-target`);
  } else if (targetText !== undefined) {
    if (tokens) throw new ConfigError(`a target (${targetText}) cannot be combined with a token store`);
    if (unixTarget) throw new ConfigError(`a target (${targetText}) cannot be combined with --unix-target`);
    target = address('target', parseTarget, targetText);
  } else if (unixTarget) {
    if (tokens) throw new ConfigError('--unix-target cannot be combined with a token store');
    const unix: UnixTarget = { kind: 'unix', path: unixTarget };
    target = unix;
  } else if (!tokens && !channels) {
    throw new ConfigError(
      'missing target: give target_host:target_port, --unix-target FILE, a token store (--token-plugin/--tokens), a program (--cmd/--dir) or --channels',
    );
  }

  const modeText = str(raw, 'unix-listen-mode') ?? '600';
  if (!/^[0-7]{3,4}$/.test(modeText))
    throw new ConfigError('--unix-listen-mode must be an octal mode such as 600');

  const tls = tlsConfig(raw);
  const sslTarget = bool(raw, 'ssl-target');
  const targetCa = str(raw, 'target-ca');
  const targetInsecure = bool(raw, 'target-insecure');
  if (!sslTarget && (targetCa || targetInsecure)) {
    throw new ConfigError(`--${targetCa ? 'target-ca' : 'target-insecure'} needs --ssl-target`);
  }

  const authPlugin = str(raw, 'auth-plugin');
  const authSource = str(raw, 'auth-source');
  if (authSource !== undefined && !authPlugin) throw new ConfigError('--auth-source needs --auth-plugin');
  const origins = list(raw, 'origin');
  const basicAuth = str(raw, 'basic-auth');
  const webAuth = bool(raw, 'web-auth');

  const web = str(raw, 'web');
  const novnc = bool(raw, 'novnc');
  const webListing = bool(raw, 'web-listing');
  if (webListing && bool(raw, 'file-only'))
    throw new ConfigError('--web-listing and --file-only contradict each other');
  if (webListing && !web) throw new ConfigError('--web-listing needs --web DIR');
  if (webAuth && !web && !novnc) throw new ConfigError('--web-auth needs --web or --novnc');

  const record = str(raw, 'record');
  if (record === '') throw new ConfigError('--record needs a file name prefix');
  if (record !== undefined && workerCount !== undefined)
    throw new ConfigError('--record cannot be combined with --workers (session numbers are per process)');
  if (daemon && workerCount !== undefined)
    throw new ConfigError('--daemon cannot be combined with --workers: run wstcp under systemd instead');
  if (daemon && inetd) throw new ConfigError('--daemon cannot be combined with --inetd (inetd starts wstcp)');

  const maxConnectionsPerToken = num(raw, 'max-connections-per-token', { positive: true, integer: true });
  if (maxConnectionsPerToken !== undefined && !tokens)
    throw new ConfigError('--max-connections-per-token needs a token store (--token-plugin or --tokens)');
  const limitsStore = str(raw, 'limits-store');
  if (limitsStore !== undefined && !/^rediss?:\/\//.test(limitsStore))
    throw new ConfigError('--limits-store must be a redis:// or rediss:// URL');
  const pools = poolConfig(raw, tokens !== undefined);

  const verbose = bool(raw, 'verbose');
  const traffic = bool(raw, 'traffic');
  const maxBufferMiB = num(raw, 'max-buffer', { positive: true }) ?? 4;

  const config: Config = {
    listen,
    unixListenMode: Number.parseInt(modeText, 8),
    target,
    channels,
    command,
    sameOrigin: bool(raw, 'same-origin'),
    headers: {
      ws: [...headerList(raw, 'header'), ...headerList(raw, 'header-ws')],
      http: [...headerList(raw, 'header'), ...headerList(raw, 'header-http')],
    },
    tokens,
    targetFromUrl,
    allowTargets,
    subprotocols: subprotocols(raw),
    connectTimeoutMs: Math.round((num(raw, 'connect-timeout', { positive: true }) ?? 10) * 1000),
    preferIpv6: bool(raw, 'prefer-ipv6'),
    heartbeatMs: seconds(raw, 'heartbeat'),
    sessionIdleTimeoutMs: seconds(raw, 'session-idle-timeout'),
    runOnce: bool(raw, 'run-once'),
    timeoutMs: seconds(raw, 'timeout'),
    idleTimeoutMs: seconds(raw, 'idle-timeout'),
    perMessageDeflate: bool(raw, 'permessage-deflate'),
    utf8Check: raw['utf8-check'] !== false,
    maxBufferBytes: Math.round(maxBufferMiB * 1024 * 1024),
    workers: workerCount,
    tls,
    sslTarget: sslTarget ? { ca: targetCa, insecure: targetInsecure } : undefined,
    auth: { plugin: authPlugin, source: authSource, origins, basicAuth, webAuth },
    limits: {
      maxConnections: num(raw, 'max-connections', { positive: true, integer: true }),
      maxConnectionsPerIp: num(raw, 'max-connections-per-ip', { positive: true, integer: true }),
      maxConnectionsPerToken,
      store: limitsStore,
      handshakeTimeoutMs: Math.round((num(raw, 'handshake-timeout', { positive: true }) ?? 10) * 1000),
      maxMessageBytes: Math.round((num(raw, 'max-message-size', { positive: true }) ?? 64) * 1024 * 1024),
      maxHeaderBytes: Math.round((num(raw, 'max-header-size', { positive: true }) ?? 16) * 1024),
    },
    pools,
    web: { dir: web, listing: webListing, novnc },
    log: {
      level: verbose || traffic ? 'debug' : 'info',
      format: str(raw, 'log-format') as LogFormat,
      file: str(raw, 'log-file'),
    },
    syslog: syslogConfig(raw),
    traffic,
    record: record === undefined ? undefined : resolve(record),
    daemon,
    ops: opsConfig(raw),
    warnings:
      raw['target-config'] !== undefined
        ? [
            '--target-config is deprecated: use --token-plugin TokenFile --token-source FILE (or --tokens file:FILE)',
          ]
        : [],
  };
  return deepFreeze(config);
}

/** Freezes `value` and everything it holds, so no module can change the config another one reads. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

function poolConfig(raw: RawOptions, tokens: boolean): PoolConfig {
  const method = (str(raw, 'balance') ?? 'round-robin') as BalanceMethod;
  if (method === 'hash-token' && !tokens) {
    throw new ConfigError('--balance hash-token needs a token store: without one there is no token to hash');
  }
  return {
    method,
    maxFails: num(raw, 'max-fails', { integer: true }) ?? 1,
    failTimeoutMs: Math.round((num(raw, 'fail-timeout', { positive: true }) ?? 10) * 1000),
    healthIntervalMs: Math.round((num(raw, 'health-interval', { positive: true }) ?? 0) * 1000),
  };
}
