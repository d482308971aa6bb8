/**
 * The client's opening handshake (RFC 6455 4.1): a GET with Upgrade: websocket over a connection made by the
 * caller's rules (direct, or a proxy tunnel, TLS for wss://), and the checks on the server's 101: the
 * accept key, the subprotocol (one of those offered, or none when none was offered), no extension (none is
 * offered). Any other status is a refusal, with the first line of the body as the server's reason.
 */
import { randomBytes } from 'node:crypto';
import {
  type ClientRequest,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { acceptKey } from '../websocket/frames.js';
import { ClientError, ClientErrorCode, ExitCode, HandshakeRefusedError, printable } from './errors.js';

/** A refusal's body is read for its first line only. */
const MAX_REASON_BODY = 4096;
const MAX_REASON_CHARS = 200;
/** How long the first line of a refusal's body may take. */
const REASON_WAIT_MS = 1000;

export interface HandshakeRequest {
  readonly secure: boolean;
  /** http.request options: host, port, path, TLS options, createConnection for a tunnel. */
  readonly options: RequestOptions & Record<string, unknown>;
  readonly headers: Readonly<Record<string, string>>;
  readonly protocols: readonly string[];
}

export interface Upgraded {
  readonly socket: Socket;
  /** Bytes that came with the 101 (frames the server sent at once). */
  readonly head: Buffer;
  readonly protocol: string;
}

function badHandshake(problem: string): ClientError {
  return new ClientError(
    ClientErrorCode.BAD_HANDSHAKE,
    ExitCode.REFUSED,
    `the server's answer to the handshake is not valid: ${problem}`,
  );
}

/** Checks the 101; returns the agreed subprotocol or throws. */
function checkAnswer(response: IncomingMessage, key: string, offered: readonly string[]): string {
  if (response.headers.upgrade?.toLowerCase() !== 'websocket') throw badHandshake('no Upgrade: websocket');
  if (response.headers['sec-websocket-accept'] !== acceptKey(key))
    throw badHandshake('a wrong Sec-WebSocket-Accept');
  if (response.headers['sec-websocket-extensions'] !== undefined)
    throw badHandshake('an extension nobody asked for');
  const protocol = response.headers['sec-websocket-protocol'];
  if (protocol === undefined) {
    if (offered.length > 0)
      throw badHandshake(`no subprotocol (offered: ${offered.join(', ')}; try --subprotocol '')`);
    return '';
  }
  if (!offered.includes(protocol))
    throw badHandshake(`the subprotocol "${printable(protocol)}", which was not offered`);
  return protocol;
}

/** Runs the handshake; `onRequest` receives the request so that the caller's deadline can destroy it. */
export function handshake(
  request: HandshakeRequest,
  onRequest: (req: ClientRequest) => void,
): Promise<Upgraded> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const headers: Record<string, string> = {
      ...request.headers,
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': key,
    };
    if (request.protocols.length > 0) headers['Sec-WebSocket-Protocol'] = request.protocols.join(',');
    const send = request.secure ? httpsRequest : httpRequest;
    // An agent, even `agent: false`, makes its own connection and ignores createConnection (the tunnel).
    const agent = request.options.createConnection ? undefined : false;
    const req = send({ ...request.options, method: 'GET', headers, agent });
    onRequest(req);
    req.once('upgrade', (response: IncomingMessage, socket: Socket, head: Buffer) => {
      try {
        const protocol = checkAnswer(response, key, request.protocols);
        socket.setNoDelay(true);
        socket.setTimeout(0);
        resolve({ socket, head, protocol });
      } catch (err) {
        socket.destroy();
        reject(err);
      }
    });
    req.once('response', (response: IncomingMessage) => {
      void firstLine(response).then((reason) => {
        req.destroy();
        reject(new HandshakeRefusedError(response.statusCode ?? 0, response.statusMessage ?? '', reason));
      });
    });
    req.once('error', reject);
    req.end();
  });
}

/** The first non-empty line of a refusal's body, without control characters, cut to a readable length. */
function firstLine(response: IncomingMessage): Promise<string> {
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
