/**
 * The one function that answers a refused request: a WebSocket handshake on its raw socket, or a plain
 * HTTP request on its ServerResponse. The answer is the refusal's status, its headers, its code in
 * `X-Wstcp-Error` (clients and tests match on it) and its reason as a short text body.
 */
import { ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HttpError } from '../errors.js';

/**
 * Answers `err` on `to`. A response already under way is cut off instead (the client sees a truncated
 * body, never a wrong one); a finished one, or a socket already gone, is left alone (destroyed).
 */
export function answerRefusal(to: Duplex | ServerResponse, err: HttpError): void {
  const body = `${err.message}\n`;
  const headers: Record<string, string | number> = {
    ...err.headers,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'X-Wstcp-Error': err.code,
  };
  if (to instanceof ServerResponse) {
    if (to.writableEnded) return;
    if (to.headersSent) {
      to.destroy();
      return;
    }
    to.writeHead(err.status, headers);
    to.end(body);
    return;
  }
  if (to.destroyed || !to.writable) {
    to.destroy();
    return;
  }
  let head = `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\nConnection: close\r\n`;
  for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
  to.end(`${head}\r\n${body}`);
}
