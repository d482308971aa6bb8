/**
 * --metrics: the bridge's Prometheus metrics (prom-client, with its standard process_* and nodejs_* set).
 * Nothing here runs per frame: byte counts and live sessions are read from the bridge's stats when
 * Prometheus scrapes, and everything else moves once per handshake, lookup or session.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ChannelStats } from '../channels/store.js';
import type { BridgeStats } from './stats.js';

/** Handshakes take milliseconds; a slow token API or target can take seconds. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The outcome of a token lookup: a target, a refusal (unknown, expired token), or a store failure. */
export type LookupResult = 'found' | 'refused' | 'error';

export class Metrics {
  readonly registry = new Registry();
  private readonly sessionsOpen: Gauge<'kind'>;
  private readonly sessionsTotal: Counter<'kind'>;
  private readonly refused: Counter<'code'>;
  private readonly handshakeSeconds: Histogram;
  private readonly connectSeconds: Histogram<'kind'>;
  private readonly lookups: Counter<'result'>;
  private readonly lookupSeconds: Histogram;
  private readonly tlsHandshakes: Counter<'result'>;
  private readonly heartbeatsMissed: Counter;
  private readonly statsSource: () => BridgeStats;
  /** When the served certificate expires (ms since the epoch), once one is loaded. */
  private certificateValidTo: () => number | undefined = () => undefined;

  /** `stats` is read at each scrape for the byte counters. */
  constructor(stats: () => BridgeStats, options: { processMetrics?: boolean } = {}) {
    this.statsSource = stats;
    const registers = [this.registry];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.sessionsOpen = new Gauge({
      name: 'wstcp_sessions_open',
      help: 'WebSocket sessions open now, by target kind',
      labelNames: ['kind'],
      registers,
    });
    this.sessionsTotal = new Counter({
      name: 'wstcp_sessions_total',
      help: 'WebSocket sessions opened (handshakes answered with 101), by target kind',
      labelNames: ['kind'],
      registers,
    });
    const source = () => this.statsSource();
    new Counter({
      name: 'wstcp_bytes_total',
      help: 'Bytes relayed, by direction (to_target: from clients; to_client: from targets)',
      labelNames: ['direction'],
      registers,
      collect() {
        const stats = source();
        // A counter whose value is the bridge's own tally: set by reset-and-add at each scrape.
        this.reset();
        this.inc({ direction: 'to_target' }, stats.bytesToTarget);
        this.inc({ direction: 'to_client' }, stats.bytesToClient);
      },
    });
    this.refused = new Counter({
      name: 'wstcp_handshakes_refused_total',
      help: 'Requests refused, by stable error code (WSTCP_*)',
      labelNames: ['code'],
      registers,
    });
    this.handshakeSeconds = new Histogram({
      name: 'wstcp_handshake_duration_seconds',
      help: 'From the upgrade request to the 101 answer (gates, token lookup and target connect included)',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.connectSeconds = new Histogram({
      name: 'wstcp_target_connect_duration_seconds',
      help: 'Time to open the target connection, by target kind',
      labelNames: ['kind'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.lookups = new Counter({
      name: 'wstcp_token_lookups_total',
      help: 'Token store lookups, by result (found, refused, error)',
      labelNames: ['result'],
      registers,
    });
    this.lookupSeconds = new Histogram({
      name: 'wstcp_token_lookup_duration_seconds',
      help: 'Token store lookup latency',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.tlsHandshakes = new Counter({
      name: 'wstcp_tls_handshakes_total',
      help: 'TLS handshakes on the listener, by result (ok, failed)',
      labelNames: ['result'],
      registers,
    });
    const validTo = () => this.certificateValidTo();
    new Gauge({
      name: 'wstcp_tls_certificate_expiry_seconds',
      help: 'Seconds until the served certificate expires (negative once expired)',
      registers,
      // Every --workers worker serves the same certificate: the primary's sum would multiply it.
      aggregator: 'min',
      // Read at each scrape, so the gauge counts down without a timer; no series without a certificate.
      collect() {
        const until = validTo();
        if (until === undefined) this.reset();
        else this.set((until - Date.now()) / 1000);
      },
    });
    this.heartbeatsMissed = new Counter({
      name: 'wstcp_heartbeats_missed_total',
      help: 'Sessions closed because a heartbeat ping got no pong',
      registers,
    });
    // Zero series exist from the start, so rate() works before the first event.
    this.refused.inc({ code: 'WSTCP_TOO_MANY_CONNECTIONS' }, 0);
    for (const result of ['found', 'refused', 'error'] as const) this.lookups.inc({ result }, 0);
    for (const result of ['ok', 'failed'] as const) this.tlsHandshakes.inc({ result }, 0);
  }

  sessionOpened(kind: string): void {
    this.sessionsOpen.inc({ kind });
    this.sessionsTotal.inc({ kind });
  }

  sessionClosed(kind: string): void {
    this.sessionsOpen.dec({ kind });
  }

  handshakeRefused(code: string): void {
    this.refused.inc({ code });
  }

  handshakeDone(seconds: number): void {
    this.handshakeSeconds.observe(seconds);
  }

  targetConnected(kind: string, seconds: number): void {
    this.connectSeconds.observe({ kind }, seconds);
  }

  tokenLookup(result: LookupResult, seconds: number): void {
    this.lookups.inc({ result });
    this.lookupSeconds.observe(seconds);
  }

  tlsHandshake(ok: boolean): void {
    this.tlsHandshakes.inc({ result: ok ? 'ok' : 'failed' });
  }

  /** Where to read when the certificate now served expires (ms since the epoch), at each scrape. */
  certificateExpiry(validTo: () => number | undefined): void {
    this.certificateValidTo = validTo;
  }

  heartbeatMissed(): void {
    this.heartbeatsMissed.inc();
  }

  /** --channels: the channel counts, read from `source` at each scrape. */
  channelStats(source: () => ChannelStats | undefined): void {
    const registers = [this.registry];
    const read = (field: keyof ChannelStats) => () => source()?.[field];
    const gauge = (name: string, help: string, field: keyof ChannelStats) => {
      const value = read(field);
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(value() ?? 0);
        },
      });
    };
    const counter = (name: string, help: string, field: keyof ChannelStats) => {
      const value = read(field);
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(value() ?? 0);
        },
      });
    };
    gauge('wstcp_channels', 'Channels held (memory store) or subscribed to (Redis store)', 'channels');
    gauge('wstcp_channel_subscribers', 'Channel subscriptions of this process', 'subscribers');
    counter('wstcp_channel_messages_published_total', 'Messages published to channels', 'published');
    counter('wstcp_channel_deliveries_total', 'Messages delivered to channel subscribers', 'delivered');
    counter(
      'wstcp_channel_fanout_passes_total',
      "Passes over a channel's subscribers (each gets the messages of one pass in one write)",
      'passes',
    );
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
