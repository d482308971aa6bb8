/** Plain HTTP answers of the channel endpoints. */
import type { ServerResponse } from 'node:http';
import type { HttpError } from '../errors.js';

/** Answers a refusal: its status, headers, and its reason as a text body. */
export function answerError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${err.message}\n`;
  res.writeHead(err.status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...err.headers,
  });
  res.end(body);
}

/** Answers with `status` and an optional body. */
export function answer(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number>,
  body: string | Buffer = '',
): void {
  res.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
