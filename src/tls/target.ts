/**
 * TLS towards the target (--ssl-target): verified against the system CAs, or only against --target-ca,
 * or not at all with --target-insecure (websockify never verified, which is what users asking for
 * --target-insecure expect).
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { TargetTlsConfig } from '../config.js';
import { readCaBundle } from './credentials.js';

/** Options shared by every connection to a target; completed per target by `tlsOptionsForHost`. */
export function targetTlsOptions(config: TargetTlsConfig): ConnectionOptions {
  const ca = config.ca ? readCaBundle('--target-ca', config.ca) : undefined;
  return { ca, rejectUnauthorized: !config.insecure, minVersion: 'TLSv1.2' };
}

/**
 * The options for one target host: the certificate is checked against `host`, and SNI is sent for host
 * names (never for IP addresses, which RFC 6066 forbids in SNI).
 */
export function tlsOptionsForHost(base: ConnectionOptions, host: string): ConnectionOptions {
  return { ...base, host, servername: isIP(host) === 0 ? host : undefined };
}
