/**
 * --metrics with --workers: each worker keeps its own registry; the primary asks them for their metrics
 * (at each scrape, and every few seconds so it always knows recent values) and serves the sum.
 *
 * A worker that dies takes its counters with it, and Prometheus reads a counter that goes down as a
 * reset. So the primary keeps the last counters and histograms it got from every dead worker and adds
 * them in: the sum never goes backwards when a worker is replaced. Gauges of dead workers (open
 * sessions, memory) are dropped, as they should be.
 *
 * The primary's own process (its memory and CPU: it holds the listener and the counts) is not in that sum;
 * it comes as the same standard set under the `wstcp_primary_` prefix, not summed into the workers'.
 */
import cluster, { type Worker } from 'node:cluster';
import {
  AggregatorRegistry,
  collectDefaultMetrics,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';
import type { MetricsSource } from './health-answer.js';
import type { Metrics } from './metrics.js';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

interface MetricsRequest {
  type: 'wstcp:metrics-request';
  id: number;
}
interface MetricsReply {
  type: 'wstcp:metrics';
  id: number;
  metrics: MetricsJson;
}

const REPLY_TIMEOUT_MS = 2000;
const POLL_INTERVAL_MS = 5000;

function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}

/** In a worker: answers the primary's requests with this worker's metrics. */
export function serveMetricsToPrimary(metrics: Metrics): void {
  process.on('message', (message: unknown) => {
    if (!isMessage<MetricsRequest>(message, 'wstcp:metrics-request') || !process.send) return;
    void metrics.registry.getMetricsAsJSON().then((json) => {
      const reply: MetricsReply = { type: 'wstcp:metrics', id: message.id, metrics: json as MetricsJson };
      if (process.connected) process.send!(reply);
    });
  });
}

/** The monotonic kinds: what a dead worker's last values still count for. */
function monotonic(json: MetricsJson): MetricsJson {
  // Over IPC the type is its text form.
  return json.filter((metric) => ['counter', 'histogram'].includes(String(metric.type)));
}

/** In the primary: the sum of every worker's metrics, past workers' counters included. */
export class WorkerMetrics implements MetricsSource {
  private readonly latest = new Map<number, MetricsJson>();
  private retired: MetricsJson[] = [];
  private nextId = 1;
  private readonly poll: NodeJS.Timeout;
  private readonly onMessage = (worker: Worker, message: unknown) => this.received(worker, message);
  private readonly onExit = (worker: Worker) => this.retire(worker);
  private readonly waiting = new Map<number, () => void>();
  private readonly primary = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.primary, prefix: 'wstcp_primary_' });
    cluster.on('message', this.onMessage);
    cluster.on('exit', this.onExit);
    this.poll = setInterval(() => void this.refresh(), POLL_INTERVAL_MS);
    this.poll.unref();
  }

  get contentType(): string {
    return AggregatorRegistry.PROMETHEUS_CONTENT_TYPE;
  }

  async text(): Promise<string> {
    await this.refresh();
    const all = [...this.retired, ...this.latest.values()];
    const [workers, primary] = await Promise.all([
      AggregatorRegistry.aggregate(all).metrics(),
      this.primary.metrics(),
    ]);
    return `${workers}\n${primary}`;
  }

  close(): void {
    clearInterval(this.poll);
    this.primary.clear();
    cluster.off('message', this.onMessage);
    cluster.off('exit', this.onExit);
    for (const done of this.waiting.values()) done();
  }

  /** Asks every live worker for its metrics; resolves when all answered or REPLY_TIMEOUT_MS passed. */
  private async refresh(): Promise<void> {
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && w.isConnected());
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            const id = this.nextId++;
            const timer = setTimeout(() => finish(), REPLY_TIMEOUT_MS);
            const finish = () => {
              clearTimeout(timer);
              this.waiting.delete(id);
              resolve();
            };
            this.waiting.set(id, finish);
            const request: MetricsRequest = { type: 'wstcp:metrics-request', id };
            try {
              worker.send(request);
            } catch {
              finish();
            }
          }),
      ),
    );
  }

  private received(worker: Worker, message: unknown): void {
    if (!isMessage<MetricsReply>(message, 'wstcp:metrics')) return;
    this.latest.set(worker.id, message.metrics);
    this.waiting.get(message.id)?.();
  }

  private retire(worker: Worker): void {
    const last = this.latest.get(worker.id);
    this.latest.delete(worker.id);
    if (!last) return;
    this.retired.push(monotonic(last));
    // Fold the dead workers into one set, so a long life of restarts keeps one set, not one per worker.
    // The sets stay in place until their sum replaces them: a scrape meanwhile still counts them.
    if (this.retired.length > 1) {
      const folding = this.retired.length;
      void AggregatorRegistry.aggregate(this.retired)
        .getMetricsAsJSON()
        .then((folded) => {
          this.retired = [folded as MetricsJson, ...this.retired.slice(folding)];
        });
    }
  }
}
