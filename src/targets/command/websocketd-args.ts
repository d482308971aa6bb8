/**
 * `wstcp websocketd ...`: websocketd's own command line, translated into wstcp's flags, so that a
 * websocketd user changes one word. A pure function: the result goes through wstcp's usual parsing and
 * validation. Flags wstcp cannot honour are refused in one line that names them, never ignored.
 */
import { ConfigError } from '../../errors.js';
import { FlagError, type FlagType, parseGoFlags } from './go-flags.js';
import { quoteWords } from './words.js';

/** websocketd 0.4.1's flags, and the ones websocketd 0.5 added (known, so that refusals name them). */
const SPECS: Readonly<Record<string, FlagType>> = {
  address: 'list',
  port: 'int',
  version: 'bool',
  license: 'bool',
  loglevel: 'string',
  ssl: 'bool',
  sslcert: 'string',
  sslkey: 'string',
  sslca: 'string',
  maxforks: 'int',
  closems: 'uint',
  pingms: 'uint',
  maxframesize: 'int',
  redirport: 'int',
  unixsocket: 'string',
  binary: 'bool',
  passstderr: 'bool',
  reverselookup: 'bool',
  dir: 'string',
  staticdir: 'string',
  cgidir: 'string',
  devconsole: 'bool',
  passenv: 'string',
  sameorigin: 'bool',
  origin: 'string',
  header: 'list',
  'header-ws': 'list',
  'header-http': 'list',
};

/** Flags wstcp refuses, and why (what to do instead). */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  redirport: 'run a second listener or a proxy for the redirect',
  unixsocket: 'use wstcp --unix-listen PATH',
  passstderr: 'stderr goes to the log',
  license: 'see the LICENSE file',
};

const LOG_LEVELS = new Set(['debug', 'trace', 'access', 'info', 'error', 'fatal']);

export type WebsocketdCommand =
  | { readonly kind: 'run'; readonly args: readonly string[] }
  | { readonly kind: 'help' };

/**
 * Translates websocketd's arguments (after `wstcp websocketd`) into wstcp's. Throws ConfigError with one
 * line for anything websocketd itself would refuse, and for flags wstcp does not support.
 * @example translateWebsocketd(['--port=8080', '--dir=/scripts']) // { kind: 'run', args: ['--dir', '/scripts', '8080'] }
 */
export function translateWebsocketd(argv: readonly string[]): WebsocketdCommand {
  let parsed: ReturnType<typeof parseGoFlags>;
  try {
    parsed = parseGoFlags(argv, SPECS);
  } catch (err) {
    if (err instanceof FlagError) throw new ConfigError(`websocketd: ${err.message}`);
    throw err;
  }
  if (parsed.help) return { kind: 'help' };
  const flags = new Flags(parsed.values);

  const refused = Object.keys(UNSUPPORTED).filter((name) => flags.given(name));
  if (refused.length > 0) {
    const list = refused.map((name) => `--${name} (${UNSUPPORTED[name]})`).join(', ');
    throw new ConfigError(`websocketd flags wstcp does not support: ${list}`);
  }
  if (flags.bool('version')) return { kind: 'run', args: ['--version'] };

  const args: string[] = [];
  const command = parsed.rest;
  const dir = flags.last('dir');
  if (command.length > 0 && dir) {
    throw new ConfigError('websocketd: give either COMMAND or --dir, not both');
  }
  if (command.length > 0) args.push('--cmd', quoteWords(command));
  else if (dir) args.push('--dir', dir);
  else throw new ConfigError('websocketd: give a COMMAND to run or --dir=DIR (wstcp websocketd --help)');

  const ssl = flags.bool('ssl');
  const cert = flags.last('sslcert');
  const key = flags.last('sslkey');
  if (ssl) {
    if (!cert || !key) throw new ConfigError('websocketd: --ssl needs both --sslcert and --sslkey');
    args.push('--cert', cert, '--key', key, '--ssl-only');
  } else if (cert || key || flags.last('sslca')) {
    throw new ConfigError('websocketd: --sslcert, --sslkey and --sslca need --ssl');
  }
  const ca = flags.last('sslca');
  if (ca) args.push('--verify-client', '--cafile', ca);

  const staticDir = flags.last('staticdir');
  const cgiDir = flags.last('cgidir');
  if (flags.bool('devconsole')) {
    if (staticDir || cgiDir) {
      throw new ConfigError(
        `websocketd: --devconsole cannot be used with --${staticDir ? 'staticdir' : 'cgidir'}`,
      );
    }
    args.push('--dev-console');
  }
  if (staticDir) args.push('--web', staticDir);
  if (cgiDir) args.push('--cgi-dir', cgiDir);
  if (flags.bool('binary')) args.push('--binary');
  if (flags.bool('reverselookup')) args.push('--reverse-lookup');

  const maxForks = flags.number('maxforks');
  if (maxForks !== undefined && maxForks > 0) args.push('--max-forks', String(maxForks));
  const closeMs = flags.number('closems');
  if (closeMs) args.push('--close-ms', String(closeMs));
  const pingMs = flags.number('pingms');
  if (pingMs) args.push('--heartbeat', String(pingMs / 1000));
  const maxFrame = flags.number('maxframesize');
  if (maxFrame !== undefined) {
    if (maxFrame <= 0)
      throw new ConfigError('websocketd: --maxframesize=0 (unlimited) is not supported by wstcp');
    args.push('--max-message-size', String(maxFrame / (1024 * 1024)));
  }
  const passEnv = flags.last('passenv');
  if (passEnv !== undefined) args.push('--pass-env', passEnv);

  if (flags.bool('sameorigin')) args.push('--same-origin');
  const origins = flags.last('origin');
  if (origins) for (const pattern of originPatterns(origins)) args.push('--origin', pattern);
  for (const name of ['header', 'header-ws', 'header-http']) {
    for (const header of flags.all(name)) args.push(`--${name}`, header);
  }

  const level = flags.last('loglevel');
  if (level !== undefined) {
    if (!LOG_LEVELS.has(level)) {
      throw new ConfigError(`websocketd: --loglevel must be one of ${[...LOG_LEVELS].join(', ')}`);
    }
    if (level === 'debug' || level === 'trace') args.push('--verbose');
  }

  args.push(listenArgument(flags, ssl));
  return { kind: 'run', args };
}

/** websocketd listens on every address at --port (80, or 443 with --ssl), or on each --address. */
function listenArgument(flags: Flags, ssl: boolean): string {
  const port = flags.number('port') || (ssl ? 443 : 80);
  const addresses = flags.all('address');
  if (addresses.length > 1) {
    throw new ConfigError(
      `websocketd: --address given ${addresses.length} times: wstcp listens on one address (or on all when --address is left out)`,
    );
  }
  return addresses.length === 0 ? String(port) : `${addresses[0]}:${port}`;
}

/**
 * websocketd's --origin list (`host[:port]` or `scheme://host[:port]`, comma-separated; no port means any
 * port, no scheme any scheme) as wstcp --origin patterns (`scheme://host:port`, `:*` for any port).
 */
export function originPatterns(list: string): string[] {
  const patterns: string[] = [];
  for (const entry of list.split(',')) {
    const text = entry.trim();
    if (text === '') continue;
    const scheme = text.indexOf('://');
    const schemes = scheme > 0 ? [text.slice(0, scheme)] : ['http', 'https'];
    const hostPort = scheme > 0 ? text.slice(scheme + 3) : text;
    const hasPort = /:\d+$/.test(hostPort);
    for (const s of schemes) patterns.push(`${s}://${hostPort}${hasPort ? '' : ':*'}`);
  }
  return patterns;
}

class Flags {
  constructor(private readonly values: ReadonlyMap<string, readonly string[]>) {}
  given(name: string): boolean {
    const last = this.last(name);
    return last !== undefined && last !== 'false' && last !== '0' && last !== '';
  }
  all(name: string): readonly string[] {
    return this.values.get(name) ?? [];
  }
  last(name: string): string | undefined {
    const all = this.all(name);
    return all[all.length - 1];
  }
  bool(name: string): boolean {
    return this.last(name) === 'true';
  }
  number(name: string): number | undefined {
    const last = this.last(name);
    return last === undefined ? undefined : Number(last);
  }
}

/** `wstcp websocketd --help`. */
export const WEBSOCKETD_USAGE = `wstcp websocketd: websocketd's command line, served by wstcp

  wstcp websocketd [options] COMMAND [ARGS...]     run COMMAND for every WebSocket connection
  wstcp websocketd [options] --dir=DIR             run the executable under DIR that the URL names

Options (Go style: --x=v, --x v or -x; booleans --x or --x=false):
  --port=PORT              port to listen on (default 80, 443 with --ssl)
  --address=ADDRESS        address to listen on (default: all; IPv6 in [brackets]); once
  --binary                 raw bytes both ways instead of lines
  --dir=DIR                scripts directory (the URL path picks the script)
  --staticdir=DIR          static files for plain HTTP requests (wstcp --web)
  --cgidir=DIR             CGI/1.1 scripts for plain HTTP requests
  --devconsole             a page to talk to the program on plain GET requests
  --maxforks=N             most programs running at once (429 beyond)
  --closems=MS             added to each wait of the teardown (stdin, SIGINT, SIGTERM, SIGKILL)
  --passenv=A,B            wstcp's variables passed to programs (default PATH,LD_LIBRARY_PATH)
  --ssl --sslcert=F --sslkey=F   serve wss:// only
  --sslca=F                require client certificates signed by this CA
  --origin=H[:P],...       allowed origins (no port: any port)
  --sameorigin             the Origin must be the host the request was sent to
  --header, --header-ws, --header-http='Name: value'   extra response headers
  --loglevel=LEVEL         debug or trace log everything (wstcp logs at info otherwise)
  --reverselookup          REMOTE_HOST is the client's DNS name
  --pingms=MS, --maxframesize=BYTES   heartbeat and largest message (websocketd 0.5)

Not supported (one error names them): --redirport, --unixsocket (use --unix-listen), --passstderr, --license.
wstcp's other options (limits, auth, TLS, logging) need its own command line: wstcp --cmd or --dir (wstcp --help).
`;
