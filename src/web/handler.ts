/**
 * The HttpHandler for plain HTTP requests on the bridge's port: the built-in viewer (--novnc), then the
 * static site (--web DIR), then 404. Only GET and HEAD are served.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpHandler } from '../admission/pipeline.js';
import { loggedPath } from '../admission/request-url.js';
import type { WebConfig } from '../config/config.js';
import { describeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { BuiltInViewer } from './builtin-viewer.js';
import { FileRoot } from './file-root.js';
import { parseRequestPath } from './request-path.js';
import { sendRefusal } from './respond.js';

/**
 * Builds the handler for `--web DIR` and/or `--novnc`, or returns undefined when neither is given (the
 * server then answers plain HTTP with 426/405). Throws ConfigError when the directory cannot be served.
 *
 * @example
 * const http = createWebHandler({ dir: '/usr/share/novnc', listing: false, novnc: false }, log);
 *
 * With `redactTokens` (a token store routes sessions), request paths are logged with tokens redacted.
 */
export function createWebHandler(
  web: WebConfig,
  log: Logger,
  options: { readonly redactTokens: boolean } = { redactTokens: false },
): HttpHandler | undefined {
  if (!web.dir && !web.novnc) return undefined;
  const viewer = web.novnc ? new BuiltInViewer() : undefined;
  const site = web.dir ? new FileRoot(web.dir, { listing: web.listing }) : undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendRefusal(res, 'METHOD_NOT_ALLOWED', { Allow: 'GET, HEAD' });
    }
    const path = parseRequestPath(req.url);
    if (!path.ok) return sendRefusal(res, path.reason === 'bad' ? 'BAD_PATH' : 'NOT_FOUND');
    const request = { trailingSlash: path.trailingSlash, publicSegments: path.segments, query: path.query };
    const route = viewer?.route(path.segments);
    if (route) return route.root.serve(req, res, { ...request, segments: route.segments });
    if (site) return site.serve(req, res, { ...request, segments: path.segments });
    return sendRefusal(res, 'NOT_FOUND');
  }

  const loggablePath = (url: string | undefined) => loggedPath(url, options.redactTokens);
  return (req, res) => {
    if (log.debugEnabled) {
      res.once('close', () =>
        log.debug('web.request', {
          method: req.method,
          path: loggablePath(req.url),
          status: res.writableFinished ? res.statusCode : 'aborted',
        }),
      );
    }
    handle(req, res).catch((err: unknown) => {
      log.warn('web.error', { path: loggablePath(req.url), error: describeError(err) });
      sendRefusal(res, 'READ_FAILED');
    });
  };
}
