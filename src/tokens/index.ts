/**
 * Token routing for the bridge: builds the resolver that admission/assemble.ts plugs into the pipeline.
 */

import type { TargetResolver } from '../admission/pipeline.js';
import type { TokenConfig } from '../config/config.js';
import type { Logger } from '../observe/log.js';
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
