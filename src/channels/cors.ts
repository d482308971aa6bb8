/**
 * Nchan's CORS answers for subscribers: a request with an Origin (one the origin gate admitted) gets it
 * echoed with credentials allowed, so pages on other origins can use EventSource and long-poll; long-poll
 * answers also expose the headers the client walks the queue with. OPTIONS preflights get the methods
 * and headers subscribers send.
 */
import type { IncomingMessage } from 'node:http';

export function corsHeaders(req: IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin) return {};
  return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true' };
}

export function longPollCorsHeaders(req: IncomingMessage): Record<string, string> {
  const headers = corsHeaders(req);
  if (headers['Access-Control-Allow-Origin']) {
    headers['Access-Control-Expose-Headers'] = 'Last-Modified, Etag, Content-Type';
  }
  return headers;
}

export function preflightHeaders(req: IncomingMessage): Record<string, string> {
  return {
    Allow: 'GET',
    'Access-Control-Allow-Headers':
      'If-None-Match, If-Modified-Since, Content-Type, Cache-Control, X-EventSource-Event',
    'Access-Control-Allow-Methods': 'GET',
    ...corsHeaders(req),
  };
}
