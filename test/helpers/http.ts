/** Plain HTTP requests to a bridge on 127.0.0.1, for the answers it gives outside WebSocket handshakes. */
import { request } from 'node:http';
import { connect } from 'node:net';

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
