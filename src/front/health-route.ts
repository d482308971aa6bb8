/**
 * --health-path PATH: /healthz and /readyz under PATH on the main port, for load balancers that can only
 * probe the port they send traffic to. Metrics stay on the --metrics listener.
 */
import { answerEndpoint } from '../observe/health-answer.js';
import type { Route, RouteContext } from './routes.js';

export function healthRoute(ctx: RouteContext): Route | undefined {
  const prefix = ctx.config.ops.healthPath;
  if (prefix === undefined) return undefined;
  const endpoints = new Map([
    [`${prefix}/healthz`, 'healthz' as const],
    [`${prefix}/readyz`, 'readyz' as const],
  ]);
  return {
    matches: (path) => endpoints.has(path),
    request(req, res, path) {
      void answerEndpoint(endpoints.get(path)!, req, res, ctx.health, undefined).catch(() => res.destroy());
    },
    upgrade(_req, socket) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    },
  };
}
