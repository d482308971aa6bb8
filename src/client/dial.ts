/**
 * Opens the WebSocket to the server: directly or through an HTTP CONNECT proxy, over TLS for wss://, with
 * the configured headers, subprotocols and Origin. One deadline (--connect-timeout) covers the connection,
 * the proxy, TLS and the handshake. Every failure becomes a ClientError with its exit code; a refused
 * handshake carries the HTTP status and the first line of the server's answer.
 */
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { describeError } from '../errors.js';
import { ServerConnection } from './connection.js';
import { ClientError, ClientErrorCode, ExitCode } from './errors.js';
import { type HandshakeRequest, handshake } from './handshake.js';
import type { ClientConfig } from './options.js';
import type { ProxyAddress } from './proxy-choice.js';
import { openTunnel } from './proxy-tunnel.js';
import { ServerReads } from './server-reads.js';
import { type ServerUrl, serverName } from './server-url.js';

export interface DialRequest {
  readonly server: ServerUrl;
  readonly config: ClientConfig;
  /** The proxy chosen for this server (see proxy-choice.ts), or undefined for a direct connection. */
  readonly proxy: ProxyAddress | undefined;
}

/** Opens the WebSocket; resolves with the connection (not yet reading), rejects with a ClientError. */
export async function dial({ server, config, proxy }: DialRequest): Promise<ServerConnection> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), config.connectTimeoutMs);
  let req: ClientRequest | undefined;
  const onAbort = () => req?.destroy();
  deadline.signal.addEventListener('abort', onAbort, { once: true });
  try {
    // A ws:// connection reads 256 KiB at a time (server-reads.ts); TLS reads with 'data' events.
    const connectTo = server.secure ? undefined : ServerReads.connect;
    const tunnel = proxy
      ? await openTunnel(proxy, server.host, server.port, deadline.signal, connectTo)
      : undefined;
    const upgraded = await handshake(handshakeRequest(server, config, tunnel, connectTo), (r) => {
      req = r;
      if (deadline.signal.aborted) r.destroy();
    });
    return new ServerConnection(upgraded.socket, upgraded.protocol, upgraded.head);
  } catch (err) {
    if (deadline.signal.aborted) {
      throw new ClientError(
        ClientErrorCode.TIMEOUT,
        ExitCode.UNREACHABLE,
        `no WebSocket session with ${server.display} within --connect-timeout ${config.connectTimeoutMs / 1000} s`,
      );
    }
    throw err instanceof ClientError ? err : classify(err as Error, server);
  } finally {
    clearTimeout(timer);
    deadline.signal.removeEventListener('abort', onAbort);
  }
}

function handshakeRequest(
  server: ServerUrl,
  config: ClientConfig,
  tunnel: Socket | undefined,
  connectTo: ((host: string, port: number) => Socket) | undefined,
): HandshakeRequest {
  const headers: Record<string, string> = { ...config.headers };
  const has = (name: string) => Object.keys(headers).some((h) => h.toLowerCase() === name);
  if (server.authorization && !has('authorization')) headers.Authorization = server.authorization;
  if (config.origin !== undefined && !has('origin')) headers.Origin = config.origin;
  const { ca, cert, key, rejectUnauthorized } = config.tls;
  const servername = serverName(server);
  const tls = server.secure ? { ca, cert, key, rejectUnauthorized, servername: servername ?? '' } : {};
  const options: HandshakeRequest['options'] = {
    ...tls,
    host: server.host,
    port: server.port,
    path: `${server.url.pathname}${server.url.search}`,
  };
  if (tunnel) {
    options.createConnection = server.secure
      ? () => tlsConnect({ socket: tunnel, ca, cert, key, rejectUnauthorized, servername })
      : () => tunnel.resume();
  } else if (connectTo) {
    options.createConnection = () => connectTo(server.host, server.port);
  }
  return { secure: server.secure, options, headers, protocols: config.protocols };
}

const TLS_CODE = /CERT|SSL|TLS|SIGNATURE|ISSUER|EPROTO/;

/** OpenSSL's messages run over several lines with source file names: the first line says it. */
function oneLine(err: Error): string {
  return describeError(err).split('\n')[0]!.trim();
}

function tlsProblem(err: Error, code: string): string {
  if (/wrong version number|packet length too long/.test(err.message)) {
    return 'the server does not answer with TLS (is it ws:// rather than wss://?)';
  }
  const hint = /CERT|SIGNATURE|ISSUER/.test(code) ? ' (trust its CA with --ca FILE)' : '';
  return `${oneLine(err)}${hint}`;
}

function classify(err: Error, server: ServerUrl): ClientError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (TLS_CODE.test(code)) {
    return new ClientError(
      ClientErrorCode.TLS,
      ExitCode.UNREACHABLE,
      `TLS with ${server.display} failed: ${tlsProblem(err, code)}`,
      { cause: err },
    );
  }
  return new ClientError(
    ClientErrorCode.UNREACHABLE,
    ExitCode.UNREACHABLE,
    `cannot reach ${server.display}: ${oneLine(err)}`,
    { cause: err },
  );
}
