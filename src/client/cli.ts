/**
 * The command lines of the client side: `wstcp connect` and `wstcp forward`. Flags -> ClientConfig ->
 * a running command; signals stop `forward`. Returns the exit code; src/cli.ts does the exiting.
 */
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { ConfigError, describeError, WstcpError } from '../errors.js';
import { Logger } from '../observe/log.js';
import { runConnect } from './connect.js';
import { ClientError, ExitCode } from './errors.js';
import { Forwarder, type ForwardSpec, type LocalAddress } from './forward.js';
import {
  buildClientConfig,
  type ClientConfig,
  clientOptionSpecs,
  forwardOptionSpecs,
  type RawClientOptions,
} from './options.js';
import { chooseProxy } from './proxy-choice.js';
import { parseServerUrl } from './server-url.js';

export type ClientCommand = 'connect' | 'forward';

const CONNECT_USAGE = `wstcp connect [options] URL [HOST [PORT]]

Relays stdin and stdout through one WebSocket session to URL (ws://, wss://), e.g. as ssh's ProxyCommand:
  ssh -o ProxyCommand='wstcp connect "wss://gw.example/ssh?token=%h"' mybox
%h and %p in URL are replaced by HOST and PORT (ProxyCommand: wstcp connect 'URL' %h %p, with %%h for %h).

Exit codes: 0 closed cleanly, 1 session broke off (close code other than 1000, connection lost),
2 usage, 3 server unreachable (network, proxy, TLS, timeout), 4 handshake refused (HTTP status),
5 no answer to --heartbeat pings.`;

const FORWARD_USAGE = `wstcp forward [options] [LOCAL_HOST:]LOCAL_PORT URL [[LOCAL_HOST:]LOCAL_PORT URL ...]
wstcp forward [options] --unix-listen PATH URL
wstcp forward [options] --config FILE

Listens locally (127.0.0.1 unless LOCAL_HOST is given) and opens one WebSocket session to URL for each
accepted connection, e.g. psql -h 127.0.0.1 -p 15432 after: wstcp forward 15432 wss://gw.example/pg?token=T
Exit codes: 0 stopped by a signal, 2 usage, 6 cannot listen.`;

/** What the commands need from the process; tests use the real one through bin/wstcp. */
export interface ClientProcess {
  readonly stdin: NodeJS.ReadableStream & import('node:stream').Readable;
  readonly stdout: NodeJS.WritableStream & import('node:stream').Writable;
  readonly env: NodeJS.ProcessEnv;
  report(line: string): void;
}

const processIO: ClientProcess = {
  stdin: process.stdin,
  stdout: process.stdout,
  env: process.env,
  report: (line) => process.stderr.write(`${line}\n`),
};

interface Parsed {
  raw: RawClientOptions & {
    'unix-listen'?: string;
    'unix-listen-mode'?: string;
    config?: string;
    help?: boolean;
  };
  positional: string[];
}

function parse(command: ClientCommand, args: readonly string[]): Parsed {
  const specs = command === 'forward' ? { ...clientOptionSpecs, ...forwardOptionSpecs } : clientOptionSpecs;
  const parser = yargs([...args])
    .scriptName(`wstcp ${command}`)
    .usage(command === 'forward' ? FORWARD_USAGE : CONNECT_USAGE)
    .options(specs)
    // Positionals stay strings (a port is not a number to yargs), and --header takes exactly one value.
    .parserConfiguration({
      'parse-positional-numbers': false,
      'greedy-arrays': false,
      'short-option-groups': false,
    })
    .strictOptions()
    .help('help')
    .alias('help', 'h')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((message, err) => {
      throw err instanceof ConfigError
        ? err
        : new ConfigError(message ?? err?.message ?? 'invalid arguments');
    });
  const argv = parser.parseSync() as unknown as Parsed['raw'] & { _: (string | number)[] };
  return { raw: argv, positional: argv._.map(String) };
}

/** `[host:]port`, `[v6]:port` or `unix:PATH`; a port alone listens on 127.0.0.1. */
export function parseLocal(text: string): LocalAddress {
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    if (!path) throw new ConfigError(`"${text}" names no unix socket path`);
    return { kind: 'unix', path };
  }
  const match = /^(?:(\[[^\]]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port > 65535) {
    throw new ConfigError(`"${text}" is not a local address: expected [LOCAL_HOST:]LOCAL_PORT or unix:PATH`);
  }
  const host = match[1]?.replace(/^\[(.*)\]$/, '$1') ?? '127.0.0.1';
  return { kind: 'tcp', host, port };
}

function forwardPairs(parsed: Parsed): [string, string][] {
  const { raw, positional } = parsed;
  const pairs: [string, string][] = [];
  if (raw['unix-listen'] !== undefined) {
    if (positional.length !== 1) throw new ConfigError('--unix-listen PATH takes exactly one URL');
    pairs.push([`unix:${raw['unix-listen']}`, positional[0]!]);
  } else {
    if (positional.length % 2 !== 0)
      throw new ConfigError('give LOCAL URL pairs: [LOCAL_HOST:]LOCAL_PORT URL ...');
    for (let i = 0; i < positional.length; i += 2) pairs.push([positional[i]!, positional[i + 1]!]);
  }
  if (raw.config !== undefined) pairs.push(...configPairs(raw.config));
  if (pairs.length === 0) throw new ConfigError('nothing to forward: give [LOCAL_HOST:]LOCAL_PORT URL');
  return pairs;
}

function configPairs(path: string): [string, string][] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`--config ${path}: cannot read the file (${describeError(err)})`);
  }
  const pairs: [string, string][] = [];
  text.split('\n').forEach((line, index) => {
    const words = line.replace(/#.*$/, '').trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) return;
    if (words.length !== 2)
      throw new ConfigError(`${path}:${index + 1}: expected "[LOCAL_HOST:]LOCAL_PORT URL"`);
    pairs.push([words[0]!, words[1]!]);
  });
  return pairs;
}

function unixMode(text: string | undefined): number {
  if (text === undefined || !/^[0-7]{3,4}$/.test(text))
    throw new ConfigError('--unix-listen-mode must be octal, e.g. 600');
  return Number.parseInt(text, 8);
}

function warn(config: ClientConfig, io: ClientProcess): void {
  for (const warning of config.warnings) io.report(`wstcp: warning: ${warning}`);
}

/** Runs `wstcp connect` or `wstcp forward` with `args` (after the command name); resolves with the exit code. */
export async function clientCommand(
  command: ClientCommand,
  args: readonly string[],
  io: ClientProcess = processIO,
): Promise<number> {
  try {
    const parsed = parse(command, args);
    if (parsed.raw.help) return ExitCode.OK;
    const config = buildClientConfig(parsed.raw);
    if (command === 'connect') {
      const [url, host, port, ...extra] = parsed.positional;
      if (url === undefined) throw new ConfigError('give the server URL: wstcp connect ws://HOST:PORT/PATH');
      if (extra.length > 0) throw new ConfigError('too many arguments: URL [HOST [PORT]]');
      const server = parseServerUrl(url, { host, port });
      const proxy = chooseProxy(server, config.httpProxy, io.env);
      warn(config, io);
      const stop = stopOnSignals(['SIGINT', 'SIGTERM', 'SIGHUP']);
      return await runConnect(
        { server, config, proxy },
        { input: io.stdin, output: io.stdout, report: io.report, stop },
      );
    }
    const specs: ForwardSpec[] = forwardPairs(parsed).map(([local, url]) => {
      const server = parseServerUrl(url);
      return { local: parseLocal(local), server, proxy: chooseProxy(server, config.httpProxy, io.env) };
    });
    const mode = unixMode(parsed.raw['unix-listen-mode']);
    warn(config, io);
    return await runForward(specs, config, mode);
  } catch (err) {
    const message = err instanceof WstcpError ? err.message : describeError(err);
    io.report(`wstcp ${command}: ${message}`);
    if (err instanceof ConfigError) {
      io.report(`Try 'wstcp ${command} --help' for the options.`);
      return ExitCode.USAGE;
    }
    return err instanceof ClientError ? err.exitCode : ExitCode.SESSION_FAILED;
  }
}

/** How long a session stopped by a signal may take to close before the process exits anyway. */
const STOP_GRACE_MS = 3000;

/**
 * The first of `signals` aborts the returned signal (the session closes gracefully: ssh sends SIGHUP to its
 * ProxyCommand when it exits); a second one, or STOP_GRACE_MS later, exits at once.
 */
function stopOnSignals(signals: readonly NodeJS.Signals[]): AbortSignal {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    setTimeout(() => process.exit(ExitCode.SESSION_FAILED), STOP_GRACE_MS).unref();
  };
  for (const name of signals) process.on(name, onSignal);
  return controller.signal;
}

async function runForward(specs: ForwardSpec[], config: ClientConfig, mode: number): Promise<number> {
  const log = new Logger({ level: config.verbose ? 'debug' : 'info', format: config.logFormat });
  const forwarder = await Forwarder.start(specs, { config, log, unixMode: mode });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, () => resolve(name));
  });
  // A second signal while sessions finish means "now".
  for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, () => process.exit(130));
  log.info('forward.stopping', { reason: signal, sessions: forwarder.sessionCount });
  await forwarder.close();
  log.info('forward.stopped', {});
  await log.close();
  return ExitCode.OK;
}
