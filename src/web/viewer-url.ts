/** The address to open in a browser, printed by the CLI at startup. */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Config } from '../config/config.js';

/**
 * The URL of the viewer (or of the `--web` site) on a bridge listening on `port`, or undefined when the
 * bridge serves no web pages or listens on a unix socket. A wildcard listen address becomes `localhost`.
 *
 * @example viewerUrl(config, 6080) // 'http://localhost:6080/vnc.html' with --novnc
 */
export function viewerUrl(config: Pick<Config, 'listen' | 'tls' | 'web'>, port: number): string | undefined {
  const { listen, web } = config;
  if (listen.kind !== 'tcp' || (!web.novnc && !web.dir)) return undefined;
  const wildcard = listen.host === undefined || listen.host === '0.0.0.0' || listen.host === '::';
  const host = wildcard ? 'localhost' : listen.host!;
  const hostPart = isIP(host) === 6 ? `[${host}]` : host;
  const scheme = config.tls ? 'https' : 'http';
  const page = web.novnc || (web.dir && existsSync(join(web.dir, 'vnc.html'))) ? '/vnc.html' : '/';
  return `${scheme}://${hostPart}:${port}${page}`;
}
