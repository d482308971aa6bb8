/**
 * Short plain-text answers for requests the static file server does not serve. Bodies are fixed phrases
 * (never the requested path) so nothing a client sends is reflected back.
 */
import type { ServerResponse } from 'node:http';

/** Stable codes of refused static-file requests, with their status and body. */
export const WebRefusal = {
  BAD_PATH: { code: 'WSTCP_WEB_BAD_PATH', status: 400, body: 'Bad request: the path is not valid.' },
  NOT_FOUND: { code: 'WSTCP_WEB_NOT_FOUND', status: 404, body: 'Not found.' },
  METHOD_NOT_ALLOWED: {
    code: 'WSTCP_WEB_METHOD_NOT_ALLOWED',
    status: 405,
    body: 'Method not allowed: only GET and HEAD are served here.',
  },
  READ_FAILED: { code: 'WSTCP_WEB_READ_FAILED', status: 500, body: 'The file could not be read.' },
} as const;

export type WebRefusalKind = keyof typeof WebRefusal;

/**
 * Answers with one of the catalogued refusals as `text/plain`; the code goes into `X-Wstcp-Error` so
 * clients and tests can match on it. A response already under way is cut off instead (the client sees
 * a truncated body, never a wrong one); a finished one is left alone.
 */
export function sendRefusal(
  res: ServerResponse,
  kind: WebRefusalKind,
  headers: Record<string, string> = {},
): void {
  const { code, status, body } = WebRefusal[kind];
  if (res.writableEnded) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = `${body}\n`;
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'X-Wstcp-Error': code,
  });
  res.end(text);
}

/** A permanent redirect to `location` (already encoded), used to add the trailing slash to directories. */
export function sendRedirect(res: ServerResponse, location: string): void {
  res.writeHead(301, { Location: location, 'Content-Length': 0, 'Cache-Control': 'no-cache' });
  res.end();
}
