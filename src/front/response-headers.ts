/** --header and --header-http: extra headers on every plain HTTP answer a handler gives. */
import type { HttpHandler } from '../admission/pipeline.js';

export function withResponseHeaders(
  handler: HttpHandler,
  headers: readonly (readonly [string, string])[],
): HttpHandler {
  if (headers.length === 0) return handler;
  return (req, res) => {
    for (const [name, value] of headers) res.appendHeader(name, value);
    handler(req, res);
  };
}
