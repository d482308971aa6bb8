/**
 * Config -> the parts of the upgrade pipeline (see pipeline.ts). Each feature module owns its factory;
 * this file only decides which parts a given Config needs. Parts that hold resources are closed by the
 * server, once, in reverse order of creation.
 */
import type { ConnectionOptions } from 'node:tls';
import type { Target } from './address.js';
import { createTargetPolicy } from './allow-target.js';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import type { Gate, HttpHandler, TargetPolicy, TargetResolver, TlsTerminator } from './pipeline.js';
import { createTokenResolver } from './tokens/index.js';
import { createWebHandler } from './web/index.js';

export interface BridgeParts {
  readonly gates: readonly Gate[];
  readonly resolver: TargetResolver;
  readonly policy: TargetPolicy | undefined;
  readonly tls: TlsTerminator | undefined;
  /** TLS options for connections to the target (--ssl-target); undefined for plain TCP. */
  readonly targetTls: ConnectionOptions | undefined;
  readonly http: HttpHandler | undefined;
}

/** The resolver for a single fixed target (`wstcp 6080 host:5900`, `--unix-target`). */
export function fixedTarget(target: Target): TargetResolver {
  return { resolve: async () => target, close: async () => {} };
}

export async function assembleParts(config: Config, log: Logger): Promise<BridgeParts> {
  const resolver = config.tokens ? await createTokenResolver(config.tokens, log) : fixedTarget(config.target!);
  return {
    gates: [],
    resolver,
    policy: createTargetPolicy(config.allowTargets, log),
    tls: undefined,
    targetTls: undefined,
    http: createWebHandler(config.web, log),
  };
}
