/**
 * The environment a command starts with: websocketd's CGI/1.1 set, so that scripts written for websocketd
 * see the same variables. Nothing of wstcp's own environment reaches a script except the --pass-env names
 * (default PATH and LD_LIBRARY_PATH), so secrets in the bridge's environment stay out of scripts.
 *
 * The order of assignment is websocketd's and later assignments win, as they do for a Go program whose
 * environment has a name twice: SERVER_SOFTWARE, the passed variables, the CGI variables, HTTPS, then one
 * HTTP_* per request header.
 */
import { decodePath } from './url-path.js';

/** What the HTTP request said, as the handshake saw it. */
export interface RequestFacts {
  readonly method: string;
  /** The request target as sent (`/path?query`). */
  readonly url: string;
  /** `1.1` */
  readonly httpVersion: string;
  /** Header names and values, alternating, as received (IncomingMessage.rawHeaders). */
  readonly rawHeaders: readonly string[];
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The client's name from a reverse lookup (--reverse-lookup), otherwise its address. */
  readonly remoteHost: string;
  /** The client connection is TLS. */
  readonly secure: boolean;
}

/** Which script the URL picked: `/` and the whole path for one command, the --dir split otherwise. */
export interface ScriptFacts {
  readonly scriptName: string;
  readonly pathInfo: string;
}

export interface EnvironmentSettings {
  /** `wstcp/VERSION` */
  readonly serverSoftware: string;
  /** The --pass-env variables, already taken from wstcp's environment (passedEnvironment). */
  readonly passed: Readonly<Record<string, string>>;
  /** A unique id for the session (UNIQUE_ID). */
  readonly uniqueId: string;
}

/** The default of --pass-env, as websocketd's on Linux. */
export const DEFAULT_PASS_ENV = 'PATH,LD_LIBRARY_PATH';

/** Newlines inside values become spaces and the ends are trimmed: an environment value is one line. */
function oneLine(value: string): string {
  return value.replace(/[\r\n]/g, ' ').trim();
}

/**
 * The variables of `names` (comma-separated, as --pass-env) that are set in `from`, cleaned as websocketd
 * does: empty values are left out, and HTTPS is never passed (it says whether this request is TLS).
 */
export function passedEnvironment(
  names: string,
  from: NodeJS.ProcessEnv = process.env,
): Readonly<Record<string, string>> {
  const passed: Record<string, string> = {};
  for (const name of names.split(',')) {
    if (name === 'HTTPS' || name === '') continue;
    const value = from[name];
    const clean = value === undefined ? '' : oneLine(value);
    if (clean !== '') passed[name] = clean;
  }
  return Object.freeze(passed);
}

/** Builds the environment of one command from its request. */
export function cgiEnvironment(
  request: RequestFacts,
  script: ScriptFacts,
  settings: EnvironmentSettings,
): Record<string, string> {
  const env: Record<string, string> = Object.create(null);
  const set = (name: string, value: string) => {
    env[name] = oneLine(value);
  };
  set('SERVER_SOFTWARE', settings.serverSoftware);
  Object.assign(env, settings.passed);

  const headers = groupHeaders(request.rawHeaders);
  const { server, port } = serverOf(headers.get('HOST') ?? '', request.secure);
  const query = request.url.indexOf('?');
  const rawPath = query < 0 ? request.url : request.url.slice(0, query);

  set('REMOTE_ADDR', request.remoteAddress);
  set('REMOTE_HOST', request.remoteHost);
  set('SERVER_NAME', server);
  set('SERVER_PORT', port);
  set('SERVER_PROTOCOL', `HTTP/${request.httpVersion}`);
  set('GATEWAY_INTERFACE', 'CGI/1.1');
  set('REQUEST_METHOD', request.method);
  set('SCRIPT_NAME', script.scriptName);
  set('PATH_INFO', script.pathInfo);
  set('PATH_TRANSLATED', decodePath(rawPath) ?? rawPath);
  set('QUERY_STRING', query < 0 ? '' : request.url.slice(query + 1));
  // Empty on purpose: left unset, a value from elsewhere could be mistaken for the request's.
  for (const name of ['AUTH_TYPE', 'CONTENT_LENGTH', 'CONTENT_TYPE', 'REMOTE_IDENT', 'REMOTE_USER']) {
    set(name, '');
  }
  set('UNIQUE_ID', settings.uniqueId);
  set('REMOTE_PORT', String(request.remotePort));
  set('REQUEST_URI', request.url);
  if (request.secure) set('HTTPS', 'on');

  for (const [name, values] of headers) {
    // Go's HTTP server moves Host out of the headers, so websocketd has no HTTP_HOST: neither has wstcp.
    if (name === 'HOST') continue;
    env[`HTTP_${name.replaceAll('-', '_')}`] = values;
  }
  return env;
}

/** Header values by upper-case name, repeats joined with ", " (each value made one line first). */
function groupHeaders(rawHeaders: readonly string[]): Map<string, string> {
  const grouped = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toUpperCase();
    const value = oneLine(rawHeaders[i + 1]!);
    const before = grouped.get(name);
    grouped.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  return grouped;
}

/**
 * SERVER_NAME and SERVER_PORT from the Host header, split as Go's net.SplitHostPort does: a Host without
 * a port means 80 (443 over TLS); a Host that cannot be split gives both empty.
 */
export function serverOf(host: string, secure: boolean): { server: string; port: string } {
  const missingPort = { server: host, port: secure ? '443' : '80' };
  const invalid = { server: '', port: '' };
  const colon = host.lastIndexOf(':');
  let server: string;
  let afterHost: number;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) return invalid;
    if (end + 1 === host.length) return missingPort;
    if (end + 1 !== colon) return host[end + 1] === ':' ? invalid : missingPort;
    server = host.slice(1, end);
    afterHost = end + 1;
  } else {
    if (colon < 0) return missingPort;
    server = host.slice(0, colon);
    if (server.includes(':')) return invalid;
    afterHost = 0;
  }
  if (host.indexOf('[', 1) >= 0 || host.indexOf(']', afterHost) >= 0) return invalid;
  return { server, port: host.slice(colon + 1) };
}
