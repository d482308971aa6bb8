/**
 * Short plain-text answers for requests the static file server does not serve. Bodies are fixed phrases
 * (never the requested path) so nothing a client sends is reflected back.
 */
import type { ServerResponse } from 'node:http';
import { refuse } from '../errors.js';
import { answerRefusal } from '../front/refusal.js';

/** The web handler's refusals (their codes, statuses and fixed phrases are in errors.ts). */
export type WebRefusalKind = 'BAD_PATH' | 'NOT_FOUND' | 'METHOD_NOT_ALLOWED' | 'READ_FAILED';

/** Answers with one of the catalogued web refusals (see answerRefusal). */
export function sendRefusal(
  res: ServerResponse,
  kind: WebRefusalKind,
  headers: Record<string, string> = {},
): void {
  answerRefusal(res, refuse(`WEB_${kind}`, undefined, { headers }));
}

/** A permanent redirect to `location` (already encoded), used to add the trailing slash to directories. */
export function sendRedirect(res: ServerResponse, location: string): void {
  res.writeHead(301, { Location: location, 'Content-Length': 0, 'Cache-Control': 'no-cache' });
  res.end();
}
