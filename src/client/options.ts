/**
 * The flags of `wstcp connect` and `wstcp forward`, declared once for yargs, and their validation into one
 * frozen ClientConfig. Files (--ca, --client-cert, --client-key) are read here, so a missing file is a usage
 * error before any connection is made.
 */
import { readFileSync } from 'node:fs';
import type { Options } from 'yargs';
import { ConfigError, describeError } from '../errors.js';

const G_SERVER = 'Server:';
const G_TLS = 'TLS:';
const G_NET = 'Network:';
const G_OUT = 'Output:';

export const clientOptionSpecs = {
  header: {
    type: 'string',
    array: true,
    group: G_SERVER,
    describe: "Add 'Name: value' to the handshake request (repeatable); values are never logged",
  },
  subprotocol: {
    type: 'string',
    default: 'binary',
    group: G_SERVER,
    describe: "Sec-WebSocket-Protocol to offer (comma-separated); '' offers none",
  },
  origin: { type: 'string', group: G_SERVER, describe: 'Origin header to send' },
  ca: {
    type: 'string',
    group: G_TLS,
    describe: "Trust the CA certificates in FILE (PEM) for the server's certificate",
  },
  insecure: {
    type: 'boolean',
    alias: 'k',
    group: G_TLS,
    describe: "Do not verify the server's certificate (prints a warning)",
  },
  'client-cert': {
    type: 'string',
    group: G_TLS,
    describe: 'Client certificate (PEM) for servers with --verify-client',
  },
  'client-key': {
    type: 'string',
    group: G_TLS,
    describe: 'Key of --client-cert (PEM; default: inside the cert file)',
  },
  'http-proxy': {
    type: 'string',
    group: G_NET,
    describe:
      "HTTP CONNECT proxy URL (default: HTTPS_PROXY / HTTP_PROXY, except NO_PROXY hosts); '' for none",
  },
  heartbeat: {
    type: 'number',
    group: G_NET,
    describe: 'Ping the server every S s; give up when it stops answering',
  },
  'connect-timeout': {
    type: 'number',
    default: 10,
    group: G_NET,
    describe: 'Seconds for the connection, proxy, TLS and handshake together',
  },
  verbose: { type: 'boolean', alias: 'v', group: G_OUT, describe: 'Say more on stderr' },
  'log-format': {
    choices: ['text', 'json'],
    default: 'text',
    group: G_OUT,
    describe: 'Format of log lines on stderr',
  },
} as const satisfies Record<string, Options>;

export const forwardOptionSpecs = {
  'unix-listen': {
    type: 'string',
    group: 'Forward:',
    describe: 'Listen on this unix socket; takes the URL as the only positional argument',
  },
  'unix-listen-mode': {
    type: 'string',
    default: '600',
    group: 'Forward:',
    describe: 'Octal file mode of --unix-listen',
  },
  config: {
    type: 'string',
    group: 'Forward:',
    describe: 'A file of forwards, one "[LOCAL_HOST:]LOCAL_PORT URL" per line (# comments)',
  },
} as const satisfies Record<string, Options>;

/** What yargs hands over for the shared flags. */
export interface RawClientOptions {
  header?: string[];
  subprotocol: string;
  origin?: string;
  ca?: string;
  insecure?: boolean;
  'client-cert'?: string;
  'client-key'?: string;
  'http-proxy'?: string;
  heartbeat?: number;
  'connect-timeout': number;
  verbose?: boolean;
  'log-format': 'text' | 'json';
}

export interface ClientTls {
  readonly ca: Buffer | undefined;
  readonly rejectUnauthorized: boolean;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
}

export interface ClientConfig {
  /** Extra handshake headers, names as given. */
  readonly headers: Readonly<Record<string, string>>;
  readonly protocols: readonly string[];
  readonly origin: string | undefined;
  readonly tls: ClientTls;
  /** --http-proxy as given: undefined = from the environment, '' = none. */
  readonly httpProxy: string | undefined;
  readonly heartbeatMs: number | undefined;
  readonly connectTimeoutMs: number;
  readonly verbose: boolean;
  readonly logFormat: 'text' | 'json';
  /** Things the user should hear about before anything runs (--insecure). */
  readonly warnings: readonly string[];
}

/** Headers the WebSocket handshake itself sets: a user value would break it or be overwritten silently. */
const HANDSHAKE_HEADERS = new Set([
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'content-length',
  'transfer-encoding',
]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function parseHeaders(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    // The value is never echoed back in a message: it may be a secret (Authorization, a cookie, an API key).
    if (!TOKEN.test(name))
      throw new ConfigError(`--header needs 'Name: value' (got a header without a valid name)`);
    const value = line.slice(colon + 1).trim();
    if (/[\r\n\0]/.test(value)) throw new ConfigError(`--header ${name}: the value must be one line`);
    if (HANDSHAKE_HEADERS.has(name.toLowerCase())) {
      throw new ConfigError(
        `--header ${name}: the WebSocket handshake sets this header itself (see --subprotocol)`,
      );
    }
    headers[name] = value;
  }
  return headers;
}

function parseProtocols(text: string): string[] {
  const protocols = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  for (const protocol of protocols) {
    if (!TOKEN.test(protocol))
      throw new ConfigError(`--subprotocol: "${protocol}" is not a valid subprotocol name`);
  }
  if (new Set(protocols).size !== protocols.length)
    throw new ConfigError('--subprotocol: a name is repeated');
  return protocols;
}

function readPem(flag: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${flag} ${path}: cannot read the file (${describeError(err)})`);
  }
}

function seconds(flag: string, value: number | undefined, allowZero: boolean): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ConfigError(`--${flag} must be a positive number of seconds`);
  }
  return Math.round(value * 1000);
}

/** Validates the shared flags into a frozen ClientConfig; throws ConfigError. */
export function buildClientConfig(raw: RawClientOptions): ClientConfig {
  const warnings: string[] = [];
  if (raw.insecure) {
    warnings.push(
      "--insecure: the server's certificate is not verified; anyone on the path can read the session",
    );
  }
  if (raw['client-key'] !== undefined && raw['client-cert'] === undefined) {
    throw new ConfigError('--client-key needs --client-cert');
  }
  const cert = readPem('--client-cert', raw['client-cert']);
  const key = readPem('--client-key', raw['client-key']) ?? cert;
  if (raw.origin !== undefined && /[\r\n\0]/.test(raw.origin))
    throw new ConfigError('--origin must be one line');
  const heartbeatMs = seconds('heartbeat', raw.heartbeat, false);
  const connectTimeoutMs = seconds('connect-timeout', raw['connect-timeout'], false) ?? 10000;
  return Object.freeze({
    headers: Object.freeze(parseHeaders(raw.header ?? [])),
    protocols: Object.freeze(parseProtocols(raw.subprotocol)),
    origin: raw.origin,
    tls: Object.freeze({ ca: readPem('--ca', raw.ca), rejectUnauthorized: raw.insecure !== true, cert, key }),
    httpProxy: raw['http-proxy'],
    heartbeatMs,
    connectTimeoutMs,
    verbose: raw.verbose === true,
    logFormat: raw['log-format'],
    warnings: Object.freeze(warnings),
  });
}
