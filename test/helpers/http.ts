/**
 * HTTP for tests: a loopback server around a handler, and one client that sends the path verbatim (for
 * the bridge's own answers, static files, and the answers outside WebSocket handshakes), and hand-written
 * requests sent byte for byte.
 */
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import type { TestContext } from 'node:test';
import type { HttpHandler } from '../../src/admission/pipeline.js';

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** A real HTTP server on 127.0.0.1:0 running `handler`, closed after the test; `requests` lists the URLs. */
export async function startHttp(
  t: TestContext,
  handler: HttpHandler,
): Promise<{ port: number; requests: string[] }> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as AddressInfo).port, requests };
}

/** Serves `handler` on 127.0.0.1:0 until the test ends; returns the port. */
export async function serveHandler(t: TestContext, handler: HttpHandler): Promise<number> {
  return (await startHttp(t, handler)).port;
}

/** One request with `path` sent exactly as given (no normalisation of `..` or percent escapes). */
export function fetchRaw(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      method: options.method ?? 'GET',
      headers: options.headers,
      agent: false,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.end();
  });
}

/** The headers of a valid WebSocket upgrade request, as a hand-written request would carry them. */
export const UPGRADE_HEADERS: Readonly<Record<string, string>> = {
  Upgrade: 'websocket',
  Connection: 'Upgrade',
  'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version': '13',
};

/**
 * A request written byte for byte as given (no client library normalizes its path or request line):
 * `requestLine` then `headers` (a value of undefined leaves the header out), then `body`.
 */
export function handWritten(
  requestLine: string,
  headers: Record<string, string | undefined>,
  body = '',
): string {
  let text = `${requestLine}\r\n`;
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined) text += `${name}: ${value}\r\n`;
  return `${text}\r\n${body}`;
}

/**
 * Writes `text` to a fresh connection to 127.0.0.1:`port` and resolves with what comes back until the
 * server closes or pauses for `quietMs`.
 */
export function rawExchange(port: number, text: string, quietMs = 300): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let got = '';
    let timer = setTimeout(() => done(), quietMs * 10);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got);
    };
    socket.on('data', (chunk) => {
      got += chunk.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(done, quietMs);
    });
    socket.on('end', done);
    socket.on('error', reject);
  });
}

/** The status code of a raw HTTP answer, or 0 when nothing came back. */
export function statusOf(reply: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
}
