/** Plain HTTP requests to a bridge on 127.0.0.1, for the answers it gives outside WebSocket handshakes. */
import { request } from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

/** Sends one request and resolves with the status, headers and body as text. */
export function httpRequest(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers: options.headers,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
