/**
 * HTTP for tests: a loopback server around a handler, and one client that sends the path verbatim (for
 * the bridge's own answers, static files, and the answers outside WebSocket handshakes).
 */
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
