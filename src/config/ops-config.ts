/**
 * The operations flags (issue 13): --metrics, --health-path, --drain-timeout, --proxy-protocol,
 * --trusted-proxy, --forwarded-header, --target-proxy-protocol, checked into one frozen part of the Config.
 */
import { isIP } from 'node:net';
import { AddressError, parseHostPort } from '../address.js';
import type { ForwardedHeader } from '../admission/client-address.js';
import { CidrError, trustedProxies } from '../admission/trusted-proxies.js';
import { ConfigError } from '../errors.js';
import type { MetricsListen } from '../observe/metrics-server.js';
import type { ProxyProtocolVersion } from '../targets/proxy-header.js';
import type { RawOptions } from './options.js';

export interface OpsConfig {
  /** --metrics: where /metrics, /healthz and /readyz are served; undefined: not at all. */
  readonly metrics: MetricsListen | undefined;
  /** --health-path: PATH/healthz and PATH/readyz on the main port too (no trailing slash). */
  readonly healthPath: string | undefined;
  /** --drain-timeout: how long SIGTERM waits for sessions to end before closing them (0: not at all). */
  readonly drainTimeoutMs: number;
  /** --proxy-protocol: every connection starts with a PROXY header, from a trusted proxy. */
  readonly proxyProtocol: boolean;
  /** --trusted-proxy: the ranges, checked; empty when none. */
  readonly trustedProxies: readonly string[];
  readonly forwardedHeader: ForwardedHeader;
  readonly targetProxyProtocol: ProxyProtocolVersion | undefined;
}

function strings(raw: RawOptions, name: keyof RawOptions): string[] {
  const value = raw[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

function one(raw: RawOptions, name: keyof RawOptions): string | undefined {
  const values = strings(raw, name);
  if (values.length > 1) throw new ConfigError(`--${String(name)} was given more than once`);
  return values[0];
}

/** `port` (on 127.0.0.1), `host:port` or `[v6]:port`. */
export function parseMetricsListen(text: string): MetricsListen {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    const port = Number(trimmed);
    if (port > 65535) throw new ConfigError(`--metrics: port ${port} is outside 0-65535`);
    return { kind: 'tcp', host: '127.0.0.1', port };
  }
  try {
    // parseHostPort refuses port 0; tests bind the metrics listener on a port the system picks.
    const zero = trimmed.endsWith(':0');
    const { host, port } = parseHostPort(zero ? `${trimmed.slice(0, -1)}1` : trimmed);
    return { kind: 'tcp', host, port: zero ? 0 : port };
  } catch (err) {
    if (err instanceof AddressError) throw new ConfigError(`--metrics: ${err.message}`);
    throw err;
  }
}

export function opsConfig(raw: RawOptions): OpsConfig {
  const metricsText = one(raw, 'metrics');
  const healthPath = one(raw, 'health-path');
  if (healthPath !== undefined && !/^\/[A-Za-z0-9._~\-/]*$/.test(healthPath)) {
    throw new ConfigError('--health-path must be a URL path such as /health');
  }
  const drain = raw['drain-timeout'] === undefined ? 0 : Number(raw['drain-timeout']);
  if (!Number.isFinite(drain) || drain < 0)
    throw new ConfigError('--drain-timeout must be a number of 0 or more');
  const ranges = strings(raw, 'trusted-proxy').flatMap((text) => text.split(',').map((r) => r.trim()));
  try {
    trustedProxies(ranges);
  } catch (err) {
    if (err instanceof CidrError) throw new ConfigError(`--trusted-proxy: ${err.message}`);
    throw err;
  }
  const proxyProtocol = raw['proxy-protocol'] === true;
  if (proxyProtocol && ranges.length === 0) {
    throw new ConfigError(
      '--proxy-protocol needs --trusted-proxy CIDR: only the proxies named there may send the header',
    );
  }
  const header = one(raw, 'forwarded-header') ?? 'x-forwarded-for';
  if (header !== 'x-forwarded-for' && header !== 'forwarded') {
    throw new ConfigError('--forwarded-header must be x-forwarded-for or forwarded');
  }
  const target = one(raw, 'target-proxy-protocol');
  if (target !== undefined && target !== 'v1' && target !== 'v2') {
    throw new ConfigError('--target-proxy-protocol must be v1 or v2');
  }
  return {
    metrics: metricsText === undefined ? undefined : parseMetricsListen(metricsText),
    healthPath: healthPath?.replace(/\/+$/, ''),
    drainTimeoutMs: Math.round(drain * 1000),
    proxyProtocol,
    trustedProxies: ranges,
    forwardedHeader: header,
    targetProxyProtocol: target,
  };
}

/** True when `host` is a loopback address (the metrics listener's default exposure). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}
