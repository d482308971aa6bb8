/**
 * Token routing for the bridge: builds the resolver that assemble.ts plugs into the pipeline.
 */
import type { TokenConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { TargetResolver } from '../pipeline.js';
import { openTokenStore } from './open-store.js';
import { TokenResolver } from './resolver.js';

/** Opens the configured token store and wraps it in a TargetResolver that owns it. */
export async function createTokenResolver(config: TokenConfig, log: Logger): Promise<TargetResolver> {
  const store = await openTokenStore(config, log);
  log.info('tokens.store', { store: store.description, host_token: config.hostToken });
  return new TokenResolver(store, {
    hostToken: config.hostToken,
    lookupTimeoutMs: config.lookupTimeoutMs,
    log,
  });
}
