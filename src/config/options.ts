/**
 * Every command-line option, declared once for yargs. websockify's names are kept exactly (users paste
 * their command lines); native options come after them. Validation beyond types lives in config.ts.
 */
import type { Options } from 'yargs';
import { channelOptionSpecs } from '../channels/options.js';

const G_COMMON = 'Common options:';
const G_CORE = 'Bridge:';
const G_TOKENS = 'Token routing:';
const G_POOLS = 'Pools (a target or token value a:1,b:2):';
const G_TLS = 'TLS:';
const G_AUTH = 'Authentication:';
const G_LIMITS = 'Limits:';
const G_WEB = 'Web:';
const G_LOG = 'Logging:';
const G_PROCESS = 'Process:';
const G_OPS = 'Operations:';
const G_COMMANDS = 'Programs per connection (websocketd):';

export const optionSpecs = {
  // Bridge
  'connect-timeout': {
    type: 'number',
    default: 10,
    group: G_CORE,
    describe: 'Seconds to wait for the target to accept (504 after that)',
  },
  heartbeat: {
    type: 'number',
    group: G_CORE,
    describe: 'Ping clients every N s; close one whose pong is missing',
  },
  'run-once': { type: 'boolean', group: G_CORE, describe: 'Serve one WebSocket session, then exit' },
  timeout: {
    type: 'number',
    group: G_CORE,
    describe: 'Stop accepting N s after start, exit when sessions end',
  },
  'idle-timeout': { type: 'number', group: G_CORE, describe: 'Exit after N s with no live session' },
  'session-idle-timeout': {
    type: 'number',
    group: G_CORE,
    describe: 'Close a session with no traffic either way for N s',
  },
  'unix-target': {
    type: 'string',
    group: G_CORE,
    describe: 'Relay to this unix socket instead of host:port',
  },
  'unix-listen': { type: 'string', group: G_CORE, describe: 'Listen on this unix socket instead of a port' },
  'unix-listen-mode': {
    type: 'string',
    default: '600',
    group: G_CORE,
    describe: 'Octal file mode of --unix-listen',
  },
  'prefer-ipv6': {
    type: 'boolean',
    alias: '6',
    group: G_CORE,
    describe: 'Prefer IPv6 when resolving addresses',
  },
  'permessage-deflate': {
    type: 'boolean',
    default: false,
    group: G_CORE,
    describe: 'Offer WebSocket compression (off: VNC data is compressed already)',
  },
  'utf8-check': {
    type: 'boolean',
    default: true,
    group: G_CORE,
    describe: 'Close text frames that are not valid UTF-8 with 1007 (--no-utf8-check: pass them on)',
  },
  'max-buffer': {
    type: 'number',
    default: 4,
    group: G_CORE,
    describe: 'MiB held per direction per session before reading from the sender pauses',
  },
  subprotocol: {
    type: 'string',
    group: G_CORE,
    describe: 'A subprotocol the target speaks, echoed when a client offers it, e.g. mqtt (repeatable)',
  },
  workers: {
    type: 'string',
    group: G_CORE,
    describe: 'Worker processes sharing the port: a number or "auto"',
  },

  // Pools
  balance: {
    type: 'string',
    choices: ['round-robin', 'least-conn', 'random', 'hash-client', 'hash-token', 'first'],
    default: 'round-robin',
    group: G_POOLS,
    describe: 'How a pool picks the member for a session (first: pure failover in order)',
  },
  'max-fails': {
    type: 'number',
    default: 1,
    group: G_POOLS,
    describe: 'Failed connects within --fail-timeout that mark a member down (0: never)',
  },
  'fail-timeout': {
    type: 'number',
    default: 10,
    group: G_POOLS,
    describe: 'Seconds over which failures count, and for which a member stays down',
  },
  'health-interval': {
    type: 'number',
    group: G_POOLS,
    describe: 'Probe every member every N s (TCP connect, or TLS with --ssl-target)',
  },

  // Token routing
  'token-plugin': {
    type: 'string',
    group: G_TOKENS,
    describe: 'websockify token plugin class (see docs/tokens.md)',
  },
  'token-source': { type: 'string', group: G_TOKENS, describe: 'Argument of --token-plugin' },
  'target-config': {
    type: 'string',
    group: G_TOKENS,
    describe: 'Deprecated: --token-plugin TokenFile --token-source',
  },
  'host-token': { type: 'boolean', group: G_TOKENS, describe: 'Take the token from the Host header' },
  tokens: {
    type: 'string',
    group: G_COMMON,
    describe: 'Token store: file:PATH, dir:PATH, sockets:DIR, redis://..., http(s)://...{token}, jwt:KEYFILE',
  },
  'token-timeout': {
    type: 'number',
    default: 5,
    group: G_TOKENS,
    describe: 'Seconds a token lookup may take',
  },
  'target-from-url': {
    type: 'boolean',
    group: G_TOKENS,
    describe: 'The client names its target: ?address=host:port or /host:port (needs --allow-target)',
  },
  'allow-target': {
    type: 'string',
    group: G_TOKENS,
    describe: 'Targets a store may return: host:port, host:port-port or CIDR[:ports] (repeatable)',
  },

  // TLS
  cert: { type: 'string', group: G_COMMON, describe: 'Certificate PEM file (may hold the key), or "auto"' },
  key: { type: 'string', group: G_COMMON, describe: 'Private key PEM file' },
  'key-password': { type: 'string', group: G_TLS, describe: 'Password of an encrypted key' },
  'ssl-only': { type: 'boolean', group: G_TLS, describe: 'Refuse plain ws:// connections' },
  'ssl-version': {
    type: 'string',
    choices: ['default', 'tlsv1_1', 'tlsv1_2', 'tlsv1_3'],
    default: 'default',
    group: G_TLS,
    describe: 'Minimum TLS version (default: TLS 1.2)',
  },
  'ssl-ciphers': { type: 'string', group: G_TLS, describe: 'OpenSSL cipher list' },
  'verify-client': { type: 'boolean', group: G_TLS, describe: 'Require a client certificate' },
  cafile: { type: 'string', group: G_TLS, describe: 'CA bundle for --verify-client' },
  'ssl-target': { type: 'boolean', group: G_TLS, describe: 'Connect to the target over TLS (verified)' },
  'target-ca': { type: 'string', group: G_TLS, describe: 'CA bundle to verify --ssl-target against' },
  'target-insecure': { type: 'boolean', group: G_TLS, describe: 'Do not verify the target certificate' },

  // Authentication
  'auth-plugin': {
    type: 'string',
    group: G_AUTH,
    describe: 'BasicHTTPAuth, ExpectOrigin or ClientCertCNAuth',
  },
  'auth-source': { type: 'string', group: G_AUTH, describe: 'Argument of --auth-plugin' },
  origin: {
    // Repeated flags still collect into a list; `array: true` would also swallow the positional arguments.
    type: 'string',
    group: G_AUTH,
    describe: 'Allowed Origin (exact or *.wildcard; repeatable)',
  },
  'basic-auth': {
    type: 'string',
    group: G_COMMON,
    describe: 'user:pass, or an htpasswd file with hashed passwords',
  },
  'web-auth': { type: 'boolean', group: G_AUTH, describe: 'Apply the authentication to static files too' },

  // Limits
  'max-connections': { type: 'number', group: G_LIMITS, describe: 'Most live sessions (503 beyond)' },
  'max-connections-per-ip': {
    type: 'number',
    group: G_LIMITS,
    describe: 'Most live sessions per client address',
  },
  'handshake-timeout': {
    type: 'number',
    default: 10,
    group: G_LIMITS,
    describe: 'Seconds a client has to complete its handshake',
  },
  'max-connections-per-token': {
    type: 'number',
    group: G_LIMITS,
    describe: 'Most live sessions per token (429 beyond)',
  },
  'limits-store': {
    type: 'string',
    group: G_LIMITS,
    describe: 'Share the connection limits between instances: redis://host:port[/db] (leases expire)',
  },
  'max-message-size': {
    type: 'number',
    default: 64,
    group: G_LIMITS,
    describe: 'Largest client message in MiB (close 1009 beyond)',
  },
  'max-header-size': {
    type: 'number',
    default: 16,
    group: G_LIMITS,
    describe: 'Largest request header in KiB',
  },

  // Web
  web: { type: 'string', group: G_COMMON, describe: 'Serve static files from this directory' },
  'file-only': { type: 'boolean', group: G_WEB, describe: 'No directory listings (the default)' },
  'web-listing': { type: 'boolean', group: G_WEB, describe: 'Allow directory listings under --web' },
  novnc: { type: 'boolean', group: G_COMMON, describe: 'Serve the built-in noVNC viewer at / and /vnc.html' },

  // Logging
  verbose: { type: 'boolean', alias: 'v', group: G_COMMON, describe: 'Debug logging' },
  traffic: { type: 'boolean', group: G_LOG, describe: 'Log every frame (debug)' },
  'log-format': {
    type: 'string',
    choices: ['text', 'json'],
    default: 'text',
    group: G_LOG,
    describe: 'Log line format',
  },
  'log-file': { type: 'string', group: G_COMMON, describe: 'Append logs to this file instead of stderr' },

  syslog: {
    type: 'string',
    group: G_LOG,
    describe: 'Also log to syslog (RFC 5424): a unix socket such as /dev/log, or UDP host:port',
  },
  'legacy-syslog': { type: 'boolean', group: G_LOG, describe: 'With --syslog: old RFC 3164 lines' },
  record: {
    type: 'string',
    group: G_LOG,
    describe: "Record each session to FILE.N in noVNC's playback format",
  },

  // Programs per connection
  cmd: {
    type: 'string',
    group: G_COMMANDS,
    describe: "Run this program per session ('COMMAND ARGS', split into words, no shell)",
  },
  dir: {
    type: 'string',
    group: G_COMMANDS,
    describe: 'Run the executable under DIR that the URL path names (websocketd --dir)',
  },
  binary: { type: 'boolean', group: G_COMMANDS, describe: 'Raw bytes both ways instead of lines' },
  'max-forks': { type: 'number', group: G_COMMANDS, describe: 'Most programs running at once (429 beyond)' },
  'close-ms': {
    type: 'number',
    group: G_COMMANDS,
    describe: 'Added to each wait between closing stdin, SIGINT, SIGTERM and SIGKILL',
  },
  'pass-env': {
    type: 'string',
    group: G_COMMANDS,
    describe: "wstcp's own variables programs get (default PATH,LD_LIBRARY_PATH)",
  },
  'reverse-lookup': { type: 'boolean', group: G_COMMANDS, describe: "REMOTE_HOST is the client's DNS name" },
  'dev-console': {
    type: 'boolean',
    group: G_COMMANDS,
    describe: 'A plain GET serves a page to talk to the program',
  },
  'cgi-dir': { type: 'string', group: G_COMMANDS, describe: 'CGI/1.1 scripts for plain HTTP requests' },
  'same-origin': {
    type: 'boolean',
    group: G_AUTH,
    describe: 'Refuse handshakes whose Origin is not the Host they were sent to',
  },
  header: { type: 'string', group: G_WEB, describe: "'Name: value' on every response (repeatable)" },
  'header-ws': { type: 'string', group: G_WEB, describe: "'Name: value' on 101 answers only (repeatable)" },
  'header-http': {
    type: 'string',
    group: G_WEB,
    describe: "'Name: value' on plain HTTP answers only (repeatable)",
  },

  // Process
  daemon: {
    type: 'boolean',
    alias: 'D',
    group: G_PROCESS,
    describe: 'Detach once listening (prefer a systemd service)',
  },
  inetd: {
    type: 'boolean',
    group: G_PROCESS,
    describe:
      'The listening socket is stdin (inetd "wait", systemd StandardInput=socket); no listen argument',
  },

  // Operations
  metrics: {
    type: 'string',
    group: G_OPS,
    describe: 'Serve /metrics, /healthz, /readyz on [host:]port (host defaults to 127.0.0.1)',
  },
  'health-path': {
    type: 'string',
    group: G_OPS,
    describe: 'Also answer PATH/healthz and PATH/readyz on the main port',
  },
  'drain-timeout': {
    type: 'number',
    default: 0,
    group: G_OPS,
    describe: 'On SIGTERM, let sessions end on their own for up to N s before closing them (1001)',
  },
  'proxy-protocol': {
    type: 'boolean',
    group: G_OPS,
    describe: 'Require a PROXY protocol v1/v2 header from every connection (needs --trusted-proxy)',
  },
  'trusted-proxy': {
    type: 'string',
    group: G_OPS,
    describe: 'A proxy (address or CIDR, repeatable) whose PROXY header or forwarded header names the client',
  },
  'forwarded-header': {
    type: 'string',
    choices: ['x-forwarded-for', 'forwarded'],
    default: 'x-forwarded-for',
    group: G_OPS,
    describe: 'The header the trusted proxies write the client address into',
  },
  'target-proxy-protocol': {
    type: 'string',
    choices: ['v1', 'v2'],
    group: G_OPS,
    describe: "Send a PROXY protocol header with the client's address to every target",
  },
  ...channelOptionSpecs,

  // websockify options that wstcp refuses with an explanation (see config.ts)
  'wrap-mode': { type: 'string', hidden: true },
} as const satisfies Record<string, Options>;

/** The groups of `--help`, in order: the common options first, so that they fill the first screen. */
export const HELP_GROUP_ORDER = [
  G_COMMON,
  G_CORE,
  G_TOKENS,
  G_POOLS,
  G_TLS,
  G_AUTH,
  G_LIMITS,
  G_WEB,
  G_LOG,
  G_PROCESS,
  G_COMMANDS,
];

export type RawOptions = {
  [K in keyof typeof optionSpecs]?: unknown;
} & { _: (string | number)[]; '--'?: (string | number)[] };
