/**
 * TLS towards the target (--ssl-target): verified against the system CAs, or only against --target-ca,
 * or not at all with --target-insecure (websockify never verified, which is what users asking for
 * --target-insecure expect).
 */
import type { ConnectionOptions } from 'node:tls';
import type { TargetTlsConfig } from '../config/config.js';
import { readCaBundle } from './credentials.js';

/** Options for every TLS connection to a target; the connector adds `host` and `servername` per target. */
export function targetTlsOptions(config: TargetTlsConfig): ConnectionOptions {
  const ca = config.ca ? readCaBundle('--target-ca', config.ca) : undefined;
  return { ca, rejectUnauthorized: !config.insecure, minVersion: 'TLSv1.2' };
}
