/**
 * The --metrics listener: /metrics, /healthz and /readyz on an address of their own (loopback unless told
 * otherwise), so scraping and probing never compete with, or get exposed alongside, the WebSocket port.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { boundAddress, boundPort, formatHostPort } from '../address.js';
import { describeError, ErrorCode, WstcpError } from '../errors.js';
import type { Health } from './health.js';
import { answerEndpoint, type HealthEndpoint, type MetricsSource } from './health-answer.js';
import type { Logger } from './log.js';

/** Where the metrics listener binds: host and port, or an inherited socket (systemd `metrics` fd). */
export type MetricsListen =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'fd'; readonly fd: number };

const PATHS: Record<string, HealthEndpoint> = {
  '/metrics': 'metrics',
  '/healthz': 'healthz',
  '/readyz': 'readyz',
};

export class MetricsServer {
  private constructor(private readonly server: Server) {}

  /** Listens on `address`; throws WSTCP_LISTEN when it cannot. */
  static async start(
    address: MetricsListen,
    source: MetricsSource,
    health: Health,
    log: Logger,
  ): Promise<MetricsServer> {
    const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      const endpoint = PATHS[path];
      if (!endpoint) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('not found: try /metrics, /healthz or /readyz\n');
        return;
      }
      answerEndpoint(endpoint, req, res, health, source).catch((err) => {
        log.warn('metrics.failed', { error: describeError(err) });
        res.destroy();
      });
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    const listening = once(server, 'listening');
    const failed = once(server, 'error').then(([err]) => {
      throw new WstcpError(
        ErrorCode.LISTEN,
        `cannot listen for --metrics on ${name(address)}: ${(err as Error).message}`,
        { cause: err },
      );
    });
    if (address.kind === 'fd') server.listen({ fd: address.fd });
    else server.listen({ host: address.host, port: address.port });
    await Promise.race([listening, failed]);
    server.on('error', (err) => log.warn('metrics.error', { error: describeError(err) }));
    const metricsServer = new MetricsServer(server);
    log.info('metrics.listening', { listen: metricsServer.address });
    return metricsServer;
  }

  get port(): number {
    return boundPort(this.server);
  }

  get address(): string {
    return boundAddress(this.server);
  }

  /** Stops listening and drops every connection (scrapes are cheap to retry). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}

function name(address: MetricsListen): string {
  return address.kind === 'fd' ? `descriptor ${address.fd}` : formatHostPort(address.host, address.port);
}
