/** Plain HTTP answers of the channel endpoints (refusals go through front/refusal.ts). */
import type { ServerResponse } from 'node:http';

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
