/**
 * Connecting a socket to a target before the WebSocket handshake is answered, so a client learns of an
 * unreachable (502) or silent (504) target from a real HTTP status instead of a 101 followed by 1011.
 * Shared by the socket kinds (tcp.ts, unix.ts); TLS on top is tls.ts.
 *
 * Every resolved address is tried in turn (IPv6 and IPv4), each with a fair share of the remaining time.
 * Sockets have allowHalfOpen set: the relay decides when each direction ends.
 */
import { lookup } from 'node:dns/promises';
import { isIP, Socket } from 'node:net';
import { describeError, type HttpError, refuse } from '../errors.js';
import type { OpenOptions } from './target.js';
import { TargetFeed } from './target-feed.js';

export type Endpoint = { host: string; port: number } | { path: string };

/** The addresses of `host` to try, in order; rejects with TARGET_UNREACHABLE when it has none. */
export async function resolveHost(host: string, name: string, preferIpv6: boolean): Promise<string[]> {
  if (isIP(host)) return [host];
  try {
    const found = await lookup(host, { all: true, verbatim: true });
    const addresses = found.map((a) => a.address);
    if (preferIpv6) addresses.sort((a, b) => isIP(b) - isIP(a));
    if (addresses.length > 0) return addresses;
  } catch (err) {
    throw refuse('TARGET_UNREACHABLE', `target ${name} cannot be resolved (${describeError(err)})`, {
      cause: err,
    });
  }
  throw refuse('TARGET_UNREACHABLE', `target ${name} resolves to no address`);
}

/**
 * Connects to the first of `addresses` that accepts before the deadline. Rejects with an HttpError:
 * TARGET_UNREACHABLE (502) when none accepts, TARGET_TIMEOUT (504) when the time runs out.
 */
export async function connectAny(
  addresses: readonly string[],
  port: number,
  name: string,
  options: OpenOptions,
): Promise<Socket> {
  const totalMs = options.deadline - Date.now();
  const failures: string[] = [];
  let allTimedOut = true;
  for (let i = 0; i < addresses.length; i++) {
    const remaining = options.deadline - Date.now();
    if (remaining <= 0) break;
    const share = Math.ceil(remaining / (addresses.length - i));
    try {
      return await connectSocket({ host: addresses[i]!, port }, name, share, totalMs, options);
    } catch (err) {
      const code = (err as HttpError).code;
      if (code === 'WSTCP_TOO_MANY_CONNECTIONS') throw err;
      if (code === 'WSTCP_TARGET_TIMEOUT' && i === addresses.length - 1) throw err;
      if (options.signal.aborted) throw err;
      if (code !== 'WSTCP_TARGET_TIMEOUT') allTimedOut = false;
      failures.push(describeError(err));
    }
  }
  if (failures.length === 0 || allTimedOut) {
    throw refuse('TARGET_TIMEOUT', `target ${name} did not answer within ${seconds(totalMs)} s`);
  }
  throw refuse('TARGET_UNREACHABLE', failures.length === 1 ? failures[0]! : `${failures.join('; ')}`);
}

interface ReadyOptions {
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
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
export function whenReady<T extends Socket>(socket: T, event: string, options: ReadyOptions): Promise<T> {
  const { signal, name } = options;
  return new Promise((resolvePromise, reject) => {
    const finish = (err?: HttpError) => {
      clearTimeout(timer);
      socket.removeListener(event, onReady);
      socket.removeListener('error', onError);
      signal.removeEventListener('abort', onAbort);
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
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** One connection attempt, given `timeoutMs` of the whole `totalMs`. */
export function connectSocket(
  endpoint: Endpoint,
  name: string,
  timeoutMs: number,
  totalMs: number,
  options: OpenOptions,
): Promise<Socket> {
  const where = 'path' in endpoint ? name : `${name} (${formatAddress(endpoint.host)})`;
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
    timedOut: () => refuse('TARGET_TIMEOUT', `target ${where} did not answer within ${seconds(totalMs)} s`),
  });
  if (!socket.destroyed) {
    socket.setNoDelay(true);
    socket.connect(endpoint);
  }
  return ready;
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

function formatAddress(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}
