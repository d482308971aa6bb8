/**
 * Opens the WebSocket to the server: directly or through an HTTP CONNECT proxy, over TLS for wss://, with
 * the configured headers, subprotocols and Origin. One deadline (--connect-timeout) covers the connection,
 * the proxy, TLS and the handshake. Every failure becomes a ClientError with its exit code; a refused
 * handshake carries the HTTP status and the first line of the server's answer.
 */
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import WebSocket, { type ClientOptions } from 'ws';
import { describeError } from '../errors.js';
import { ClientError, ClientErrorCode, ExitCode, HandshakeRefusedError, printable } from './errors.js';
import type { ClientConfig } from './options.js';
import type { ProxyAddress } from './proxy-choice.js';
import { openTunnel } from './proxy-tunnel.js';
import { type ServerUrl, serverName } from './server-url.js';

/** How long a closing handshake may take before the connection is dropped. */
const CLOSE_TIMEOUT_MS = 10000;
/** A refusal's body is read for its first line only. */
const MAX_REASON_BODY = 4096;
const MAX_REASON_CHARS = 200;
/** How long the first line of a refusal's body may take. */
const REASON_WAIT_MS = 1000;

export interface DialRequest {
  readonly server: ServerUrl;
  readonly config: ClientConfig;
  /** The proxy chosen for this server (see proxy-choice.ts), or undefined for a direct connection. */
  readonly proxy: ProxyAddress | undefined;
}

/** Opens the WebSocket; resolves once it is open, rejects with a ClientError. */
export async function dial({ server, config, proxy }: DialRequest): Promise<WebSocket> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), config.connectTimeoutMs);
  try {
    const tunnel = proxy ? await openTunnel(proxy, server.host, server.port, deadline.signal) : undefined;
    return await handshake(server, config, tunnel, deadline.signal);
  } finally {
    clearTimeout(timer);
  }
}

function wsOptions(server: ServerUrl, config: ClientConfig, tunnel: Socket | undefined): ClientOptions {
  const headers: Record<string, string> = { ...config.headers };
  const hasAuthorization = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
  if (server.authorization && !hasAuthorization) headers.Authorization = server.authorization;
  const { ca, cert, key, rejectUnauthorized } = config.tls;
  const servername = serverName(server) ?? '';
  const tls = server.secure ? { ca, cert, key, rejectUnauthorized, servername } : {};
  const options: ClientOptions = {
    ...tls,
    perMessageDeflate: false,
    followRedirects: false,
    // Text frames are passed on as their bytes: whether they are valid UTF-8 is not ours to judge.
    skipUTF8Validation: true,
    headers,
    origin: config.origin,
  };
  (options as { closeTimeout?: number }).closeTimeout = CLOSE_TIMEOUT_MS;
  if (tunnel) {
    options.createConnection = server.secure
      ? () =>
          tlsConnect({
            socket: tunnel,
            ca,
            cert,
            key,
            rejectUnauthorized,
            servername: servername || undefined,
          })
      : () => tunnel.resume();
  }
  return options;
}

function handshake(
  server: ServerUrl,
  config: ClientConfig,
  tunnel: Socket | undefined,
  signal: AbortSignal,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const ws = new WebSocket(server.url, [...config.protocols], wsOptions(server, config, tunnel));
    ws.binaryType = 'nodebuffer';
    const settle = (err: ClientError | undefined) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      ws.off('open', onOpen);
      if (err === undefined) {
        ws.off('error', onError);
        return resolve(ws);
      }
      // Errors after the verdict (the terminate below) have nothing left to tell.
      ws.on('error', () => {});
      ws.terminate();
      tunnel?.destroy();
      reject(err);
    };
    const onOpen = () => settle(undefined);
    const onError = (err: Error) => settle(classify(err, server));
    const onAbort = () =>
      settle(
        new ClientError(
          ClientErrorCode.TIMEOUT,
          ExitCode.UNREACHABLE,
          `no WebSocket session with ${server.display} within --connect-timeout ${config.connectTimeoutMs / 1000} s`,
        ),
      );
    ws.once('open', onOpen);
    ws.on('error', onError);
    ws.once('unexpected-response', (_request, response) => {
      void firstLine(response).then((reason) =>
        settle(new HandshakeRefusedError(response.statusCode ?? 0, response.statusMessage ?? '', reason)),
      );
    });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The first non-empty line of a refusal's body, without control characters, cut to a readable length. */
function firstLine(response: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    const done = () => {
      response.removeAllListeners('data');
      // An HTML error page (nginx, an ingress) reads best as its text: its title comes first.
      const text = /^\s*</.test(body) ? body.replace(/<[^>]*>/g, '\n') : body;
      const line = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
      resolve(printable(line).slice(0, MAX_REASON_CHARS));
    };
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      body += chunk;
      if (body.length >= MAX_REASON_BODY || body.includes('\n')) done();
    });
    response.once('end', done);
    response.once('error', done);
    // A server that keeps the body open must not turn its refusal into a connect timeout.
    setTimeout(done, REASON_WAIT_MS).unref();
  });
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
  if (/^(Server sent|Invalid (Upgrade|Sec-WebSocket))/.test(err.message)) {
    const hint = err.message.includes('subprotocol') ? " (try --subprotocol '' or another name)" : '';
    return new ClientError(
      ClientErrorCode.BAD_HANDSHAKE,
      ExitCode.REFUSED,
      `the server's answer to the handshake is not valid: ${err.message}${hint}`,
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
