/**
 * Origin checks against cross-site WebSocket hijacking: a page on another site must not be able to open
 * the bridge with the visitor's cookies or network position. Browsers always send Origin on WebSocket
 * handshakes, so a handshake without one is refused too (non-browser clients can set it).
 */

import type { Gate, HandshakeContext } from '../admission/pipeline.js';
import { ConfigError, refuse } from '../errors.js';

/**
 * One allowed origin: exact host, or `*.suffix` matching any depth of subdomain (not the bare suffix);
 * port `*` matches any port (websocketd's `--origin=host`).
 */
export interface OriginPattern {
  readonly protocol: string;
  readonly host: string;
  readonly wildcard: boolean;
  readonly port: string;
}

const PATTERN = /^([a-z][a-z0-9+.-]*):\/\/(\*\.)?([^/:*]+|\[[0-9a-f:.]+\])(?::(\d{1,5}|\*))?\/?$/i;
const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

function normalizePort(protocol: string, port: string | undefined): string {
  if (port === '*') return port;
  return port === undefined || port === '' || DEFAULT_PORTS[protocol] === port ? '' : String(Number(port));
}

/** Parses an --origin value such as `https://app.example.com`, `http://localhost:8080`, `https://*.example.com`. */
export function parseOriginPattern(text: string): OriginPattern {
  const match = PATTERN.exec(text.trim());
  if (!match) {
    throw new ConfigError(
      `--origin "${text}": expected scheme://host[:port|:*], e.g. https://app.example.com or https://*.example.com`,
    );
  }
  const protocol = `${match[1]!.toLowerCase()}:`;
  return {
    protocol,
    wildcard: match[2] !== undefined,
    host: match[3]!.toLowerCase(),
    port: normalizePort(protocol, match[4]),
  };
}

/** True when the Origin header value is allowed by `pattern`. */
export function originMatches(pattern: OriginPattern, origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  // An Origin is only scheme://host[:port]; anything more is not a browser's Origin header.
  if (
    url.origin === 'null' ||
    url.username ||
    url.password ||
    url.pathname !== '/' ||
    url.search ||
    url.hash
  ) {
    return false;
  }
  if (url.protocol !== pattern.protocol) return false;
  if (pattern.port !== '*' && normalizePort(url.protocol, url.port) !== pattern.port) return false;
  const host = url.hostname.toLowerCase();
  return pattern.wildcard ? host.endsWith(`.${pattern.host}`) : host === pattern.host;
}

/** The Origin for a refusal reason: it is the client's own text, so keep it short. */
function shown(origin: string): string {
  return origin.length > 100 ? `${origin.slice(0, 100)}...` : origin;
}

/** The native --origin gate: the Origin header must match one of the patterns (403 otherwise). */
export function originGate(patterns: readonly OriginPattern[]): Gate {
  return (ctx: HandshakeContext) => {
    const origin = ctx.req.headers.origin;
    if (origin === undefined)
      throw refuse('FORBIDDEN', 'the Origin header is missing; this bridge checks origins');
    if (!patterns.some((p) => originMatches(p, origin)))
      throw refuse('FORBIDDEN', `origin ${shown(origin)} is not allowed`);
  };
}

/** websockify's ExpectOrigin plugin: the Origin header must equal one of the space-separated values. */
export function expectOriginGate(source: string): Gate {
  const allowed = source.split(/\s+/).filter(Boolean);
  return (ctx: HandshakeContext) => {
    const origin = ctx.req.headers.origin;
    if (origin === undefined || !allowed.includes(origin)) {
      throw refuse(
        'FORBIDDEN',
        origin === undefined ? 'the Origin header is missing' : `origin ${shown(origin)} is not allowed`,
      );
    }
  };
}
