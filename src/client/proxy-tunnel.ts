/**
 * HTTP CONNECT through a proxy: one TCP connection to the proxy, `CONNECT host:port`, and on a 2xx answer
 * the same socket is the tunnel to the server. Nothing may follow the answer's head: a WebSocket server
 * speaks only after the client's request. The caller's AbortSignal (the connect timeout) destroys the socket.
 */
import { connect, type Socket } from 'node:net';
import { describeError } from '../errors.js';
import { ClientError, ClientErrorCode, ExitCode } from './errors.js';
import type { ProxyAddress } from './proxy-choice.js';

/** Proxies answer CONNECT with a short head; anything longer is not a proxy worth waiting for. */
const MAX_RESPONSE_HEAD = 16 * 1024;

function authority(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The CONNECT request for `host:port`. */
export function connectRequest(host: string, port: number, proxy: ProxyAddress): string {
  const target = authority(host, port);
  const auth = proxy.authorization ? `Proxy-Authorization: ${proxy.authorization}\r\n` : '';
  return `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`;
}

/** Status and reason phrase of the proxy's answer head, or undefined when it is not HTTP. */
export function parseStatusLine(head: string): { status: number; text: string } | undefined {
  const match = /^HTTP\/1\.[01] (\d{3})(?: ([^\r\n]*))?\r?\n/.exec(head);
  return match ? { status: Number(match[1]), text: (match[2] ?? '').trim() } : undefined;
}

function proxyError(proxy: ProxyAddress, why: string, cause?: unknown): ClientError {
  return new ClientError(ClientErrorCode.PROXY, ExitCode.UNREACHABLE, `proxy ${proxy.display}: ${why}`, {
    cause,
  });
}

/**
 * Opens a tunnel to `host:port` through `proxy`; rejects with a ClientError (exit code 3). `connectTo`
 * makes the TCP connection to the proxy (the caller's choice of how it reads).
 */
export function openTunnel(
  proxy: ProxyAddress,
  host: string,
  port: number,
  signal: AbortSignal,
  connectTo: (host: string, port: number) => Socket = (h, p) => connect({ host: h, port: p }),
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTo(proxy.host, proxy.port);
    let head = Buffer.alloc(0);
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('end', onEnd);
      signal.removeEventListener('abort', onAbort);
    };
    const fail = (err: ClientError) => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onAbort = () => fail(proxyError(proxy, 'no answer before the connect timeout'));
    const onError = (err: Error) => fail(proxyError(proxy, `cannot connect (${describeError(err)})`, err));
    const onEnd = () => fail(proxyError(proxy, 'closed the connection without answering CONNECT'));
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_RESPONSE_HEAD)
          fail(proxyError(proxy, 'answered CONNECT with an oversized head'));
        return;
      }
      const status = parseStatusLine(head.subarray(0, end + 2).toString('latin1'));
      if (!status) return fail(proxyError(proxy, 'did not answer CONNECT with HTTP'));
      if (status.status < 200 || status.status > 299) {
        return fail(
          proxyError(
            proxy,
            `refused CONNECT to ${authority(host, port)}: HTTP ${status.status} ${status.text}`,
          ),
        );
      }
      if (head.length > end + 4) return fail(proxyError(proxy, 'sent data before the tunnel was used'));
      cleanup();
      socket.pause();
      resolve(socket);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('end', onEnd);
    socket.setNoDelay(true);
    socket.write(connectRequest(host, port, proxy));
  });
}
