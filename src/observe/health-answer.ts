/** Answers /healthz, /readyz and /metrics requests, for the metrics listener and the --health-path route. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Health, HealthAnswer } from './health.js';

/** Where /metrics text comes from: one bridge's registry, or the --workers primary's sum. */
export interface MetricsSource {
  readonly contentType: string;
  text(): Promise<string>;
}

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(head ? undefined : body);
}

function sendHealth(res: ServerResponse, answer: HealthAnswer, head: boolean): void {
  send(res, answer.ok ? 200 : 503, 'text/plain; charset=utf-8', `${answer.reason}\n`, head);
}

/** The endpoint names this module answers, after the prefix. */
export type HealthEndpoint = 'healthz' | 'readyz' | 'metrics';

/**
 * Answers `endpoint` for `req`: GET and HEAD only (405 otherwise). `metrics` is undefined where metrics
 * are not served (the main port), which answers 404.
 */
export async function answerEndpoint(
  endpoint: HealthEndpoint,
  req: IncomingMessage,
  res: ServerResponse,
  health: Health,
  metrics: MetricsSource | undefined,
): Promise<void> {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', head);
    return;
  }
  if (endpoint === 'healthz') sendHealth(res, health.live(), head);
  else if (endpoint === 'readyz') sendHealth(res, await health.ready(), head);
  else if (!metrics) send(res, 404, 'text/plain; charset=utf-8', 'not found\n', head);
  else {
    try {
      send(res, 200, metrics.contentType, await metrics.text(), head);
    } catch (err) {
      send(res, 503, 'text/plain; charset=utf-8', `metrics unavailable: ${(err as Error).message}\n`, head);
    }
  }
}
