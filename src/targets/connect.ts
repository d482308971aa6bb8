/**
 * Opens the connection to a session's target before the WebSocket handshake is answered, so a client learns
 * of an unreachable (502) or silent (504) target from a real HTTP status instead of a 101 followed by 1011.
 *
 * Every resolved address is tried in turn (IPv6 and IPv4), each with a fair share of the remaining time.
 * The returned socket has allowHalfOpen set: the relay decides when each direction ends.
 */
import { lookup } from 'node:dns/promises';
import { isIP, Socket } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { formatTarget, type Target } from '../address.js';
import { describeError, type HttpError, refuse } from '../errors.js';
import { TargetFeed } from './target-feed.js';

export interface ConnectOptions {
  readonly timeoutMs: number;
  /** Try IPv6 addresses first (otherwise the resolver's order). */
  readonly preferIpv6?: boolean;
  /** Speak TLS to the target with these options (--ssl-target). */
  readonly tls?: ConnectionOptions | undefined;
  /** Aborted when the client goes away while we connect. */
  readonly signal?: AbortSignal;
}

/**
 * Connects to `target`. Rejects with an HttpError: TARGET_UNREACHABLE (502) when no address accepts,
 * TARGET_TIMEOUT (504) when the time runs out. The timer and every listener are gone when it settles.
 */
export async function connectTarget(target: Target, options: ConnectOptions): Promise<Socket> {
  const deadline = Date.now() + options.timeoutMs;
  const name = formatTarget(target);
  let socket: Socket;
  if (target.kind === 'unix') {
    socket = await attempt({ path: target.path }, name, options.timeoutMs, options);
  } else {
    const addresses = await resolve(target.host, name, options);
    socket = await connectAny(addresses, target.port, name, deadline, options);
  }
  if (!options.tls) return socket;
  const servername = target.kind === 'tcp' && isIP(target.host) === 0 ? target.host : undefined;
  return upgradeToTls(
    socket,
    name,
    Math.max(1, deadline - Date.now()),
    options.tls,
    servername,
    target.kind === 'tcp' ? target.host : undefined,
    options.signal,
  );
}

async function resolve(host: string, name: string, options: ConnectOptions): Promise<string[]> {
  if (isIP(host)) return [host];
  try {
    const found = await lookup(host, { all: true, verbatim: true });
    const addresses = found.map((a) => a.address);
    if (options.preferIpv6) addresses.sort((a, b) => isIP(b) - isIP(a));
    if (addresses.length > 0) return addresses;
  } catch (err) {
    throw refuse('TARGET_UNREACHABLE', `target ${name} cannot be resolved (${describeError(err)})`, {
      cause: err,
    });
  }
  throw refuse('TARGET_UNREACHABLE', `target ${name} resolves to no address`);
}

async function connectAny(
  addresses: string[],
  port: number,
  name: string,
  deadline: number,
  options: ConnectOptions,
): Promise<Socket> {
  const failures: string[] = [];
  for (let i = 0; i < addresses.length; i++) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const share = Math.ceil(remaining / (addresses.length - i));
    try {
      return await attempt({ host: addresses[i]!, port }, name, share, options);
    } catch (err) {
      const code = (err as HttpError).code;
      if (code === 'WSTCP_TOO_MANY_CONNECTIONS') throw err;
      if (code === 'WSTCP_TARGET_TIMEOUT' && i === addresses.length - 1) throw err;
      if (options.signal?.aborted) throw err;
      failures.push(describeError(err));
    }
  }
  if (failures.length === 0 || failures.every((f) => f.includes('did not answer'))) {
    throw refuse('TARGET_TIMEOUT', `target ${name} did not answer within ${options.timeoutMs / 1000} s`);
  }
  throw refuse('TARGET_UNREACHABLE', failures.length === 1 ? failures[0]! : `${failures.join('; ')}`);
}

type Endpoint = { host: string; port: number } | { path: string };

interface ReadyOptions {
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  /** The target, for the "client left" reason. */
  readonly name: string;
  readonly failed: (err: NodeJS.ErrnoException) => HttpError;
  readonly timedOut: () => HttpError;
}

/**
 * Waits for `socket` to emit `event` ('connect', 'secureConnect'), settling exactly once: on the event, an
 * error, the timeout or the client leaving. The timer and every listener are gone when it settles, and the
 * socket is destroyed on every failure.
 */
function whenReady<T extends Socket>(socket: T, event: string, options: ReadyOptions): Promise<T> {
  const { signal, name } = options;
  return new Promise((resolvePromise, reject) => {
    const finish = (err?: HttpError) => {
      clearTimeout(timer);
      socket.removeListener(event, onReady);
      socket.removeListener('error', onError);
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        resolvePromise(socket);
      }
    };
    const onReady = () => finish();
    const onError = (err: NodeJS.ErrnoException) => finish(options.failed(err));
    const onAbort = () => finish(refuse('TARGET_UNREACHABLE', `client left before ${name} was connected`));
    const timer = setTimeout(() => finish(options.timedOut()), options.timeoutMs);
    socket.once(event, onReady);
    socket.once('error', onError);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** One connection attempt, given `timeoutMs` of the whole `options.timeoutMs`. */
function attempt(
  endpoint: Endpoint,
  name: string,
  timeoutMs: number,
  options: ConnectOptions,
): Promise<Socket> {
  const where = 'path' in endpoint ? name : `${name} (${formatAddress(endpoint.host)})`;
  const totalMs = options.timeoutMs;
  // A TLS target's bytes are ciphertext for the TLS layer: only plain targets read into the shared buffer.
  const socket = options.tls ? new Socket({ allowHalfOpen: true }) : TargetFeed.socket();
  const ready = whenReady(socket, 'connect', {
    timeoutMs,
    signal: options.signal,
    name,
    failed: (err) =>
      err.code === 'EMFILE' || err.code === 'ENFILE'
        ? refuse('TOO_MANY_CONNECTIONS', 'the bridge has no file descriptors left; try again later', {
            cause: err,
          })
        : refuse('TARGET_UNREACHABLE', `target ${where} refused: ${err.code ?? err.message}`, { cause: err }),
    timedOut: () => refuse('TARGET_TIMEOUT', `target ${where} did not answer within ${totalMs / 1000} s`),
  });
  if (!socket.destroyed) {
    socket.setNoDelay(true);
    socket.connect(endpoint);
  }
  return ready;
}

function upgradeToTls(
  socket: Socket,
  name: string,
  timeoutMs: number,
  tls: ConnectionOptions,
  servername: string | undefined,
  host: string | undefined,
  signal: AbortSignal | undefined,
): Promise<TLSSocket> {
  // Without `host`, an IP target's certificate would be checked against the name "localhost".
  const secure = tlsConnect({ ...tls, socket, host, servername: tls.servername ?? servername });
  return whenReady(secure, 'secureConnect', {
    timeoutMs,
    signal,
    name,
    failed: (err) =>
      refuse('TARGET_UNREACHABLE', `TLS to target ${name} failed: ${describeError(err)}`, { cause: err }),
    timedOut: () => refuse('TARGET_TIMEOUT', `TLS handshake with target ${name} took too long`),
  }).catch((err: unknown) => {
    socket.destroy();
    throw err;
  });
}

function formatAddress(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}
