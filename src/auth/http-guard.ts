/**
 * --web-auth: the same gates that guard WebSocket handshakes guard plain HTTP requests (static files,
 * the viewer). A refused request gets the gate's status, headers and reason, like a refused handshake.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Gate, HandshakeContext, HttpHandler, Release } from '../admission/pipeline.js';
import { HttpError } from '../errors.js';

function contextOf(req: IncomingMessage): HandshakeContext {
  const socket = req.socket;
  const secure = (socket as TLSSocket).encrypted === true;
  let url: URL;
  try {
    url = new URL(req.url ?? '/', `${secure ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`);
  } catch {
    url = new URL(req.url?.startsWith('/') ? req.url : '/', 'http://localhost');
  }
  return {
    req,
    url,
    clientAddress: socket.remoteAddress ?? '',
    clientPort: socket.remotePort ?? 0,
    secure,
    socket,
  };
}

function answer(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const refusal = err instanceof HttpError ? err : undefined;
  const status = refusal?.status ?? 500;
  const body = `${refusal ? refusal.message : 'internal error'}\n`;
  res.writeHead(status, {
    ...refusal?.headers,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

/**
 * Wraps `handler` so every request passes `gates` first (in order; each must pass). Releases returned by
 * gates are called once the response is finished or the connection closes.
 */
export function guardHttp(handler: HttpHandler, gates: readonly Gate[]): HttpHandler {
  if (gates.length === 0) return handler;
  return (req: IncomingMessage, res: ServerResponse) => {
    const releases: Release[] = [];
    res.once('close', () => {
      for (const release of releases) release();
    });
    const ctx = contextOf(req);
    const run = async () => {
      for (const gate of gates) {
        const release = await gate(ctx);
        if (release) releases.push(release);
      }
    };
    run()
      .then(() => handler(req, res))
      .catch((err) => answer(res, err));
  };
}
