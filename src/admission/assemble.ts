/**
 * Config -> the parts of the upgrade pipeline (see pipeline.ts). Each feature module owns its factory;
 * this file only decides which parts a given Config needs. The parts that hold resources (the token
 * resolver, the TLS terminator) are closed once by the bridge when it closes.
 */
import type { ConnectionOptions } from 'node:tls';
import { authGates } from '../auth/gates.js';
import { guardHttp } from '../auth/http-guard.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../observe/log.js';
import type { ProxyProtocolVersion } from '../targets/proxy-header.js';
import type { Target } from '../targets/target.js';
import { createTargetPolicy } from './allow-target.js';
import { type ClientAddressPolicy, clientAddressPolicy } from './client-address.js';
import { limitGates } from './limits.js';
import type { Gate, HttpHandler, TargetPolicy, TargetResolver, TlsTerminator } from './pipeline.js';

export interface BridgeParts {
  readonly gates: readonly Gate[];
  readonly resolver: TargetResolver;
  readonly policy: TargetPolicy | undefined;
  readonly tls: TlsTerminator | undefined;
  /** TLS options for connections to the target (--ssl-target); undefined for plain TCP. */
  readonly targetTls: ConnectionOptions | undefined;
  readonly http: HttpHandler | undefined;
  /** Who the client is behind --trusted-proxy proxies (the socket's peer without them). */
  readonly clientOf?: ClientAddressPolicy;
  /** --target-proxy-protocol: the header version written first to every target. */
  readonly targetProxyProtocol?: ProxyProtocolVersion | undefined;
}

/** The resolver for a single fixed target (`wstcp 6080 host:5900`, `--unix-target`). */
export function fixedTarget(target: Target): TargetResolver {
  return { resolve: async () => target, close: async () => {} };
}

/**
 * Feature modules are loaded only when their flags are used. Besides a faster start, this keeps the heap of
 * a plain bridge small: with node-forge, ioredis, jose and serve-handler loaded, V8 answers the 64 KiB
 * buffer of every socket read with full mark-compact collections, doubling the CPU per GB relayed
 * (docs/performance.md).
 */
export async function assembleParts(config: Config, log: Logger): Promise<BridgeParts> {
  // Checks that hold no resources run first, so a bad flag or file leaves nothing open behind it.
  const auth = authGates(config, log);
  const web = await webHandler(config, log);
  const targetTls = config.sslTarget
    ? (await import('../tls/target.js')).targetTlsOptions(config.sslTarget)
    : undefined;
  const tls = config.tls
    ? (await import('../tls/terminator.js')).createTlsTerminator(config.tls, log)
    : undefined;
  let resolver: TargetResolver;
  try {
    resolver = config.tokens
      ? await (await import('../tokens/index.js')).createTokenResolver(config.tokens, log)
      : fixedTarget(config.target!);
  } catch (err) {
    await tls?.close();
    throw err;
  }
  const clientOf = clientAddressPolicy(config.ops.trustedProxies, config.ops.forwardedHeader);
  return {
    // Limits first: a flood is turned away before any password is hashed.
    gates: [...limitGates(config.limits), ...auth.handshake],
    resolver,
    policy: createTargetPolicy(config.allowTargets, log),
    tls,
    targetTls,
    http: web ? guardHttp(web, auth.http, clientOf) : undefined,
    clientOf,
    targetProxyProtocol: config.ops.targetProxyProtocol,
  };
}

async function webHandler(config: Config, log: Logger): Promise<HttpHandler | undefined> {
  if (!config.web.dir && !config.web.novnc) return undefined;
  return (await import('../web/index.js')).createWebHandler(config.web, log, {
    redactTokens: config.tokens !== undefined,
  });
}
