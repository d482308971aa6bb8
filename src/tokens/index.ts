/**
 * Token routing for the bridge: builds the resolver that admission/assemble.ts plugs into the pipeline.
 */

import type { TargetResolver } from '../admission/pipeline.js';
import type { TokenConfig } from '../config/config.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { TokenFileError } from './file-store.js';
import { openTokenStore } from './open-store.js';
import { TokenResolver } from './resolver.js';

/** Opens the configured token store and wraps it in a TargetResolver that owns it. */
export async function createTokenResolver(config: TokenConfig, log: Logger): Promise<TargetResolver> {
  const store = await openTokenStore(config, log).catch((err: unknown) => {
    throw err instanceof ConfigError ? namingTheFlag(err, config) : err;
  });
  log.info('tokens.store', { store: store.description, host_token: config.hostToken });
  return new TokenResolver(store, {
    hostToken: config.hostToken,
    lookupTimeoutMs: config.lookupTimeoutMs,
    log,
  });
}

/**
 * A store that cannot be opened, said with the flag that named it. The source itself is not repeated: a
 * Redis or API source may hold a password (the store's own message names the file when there is one).
 */
function namingTheFlag(err: ConfigError, config: TokenConfig): ConfigError {
  const flag = config.plugin === 'native' ? '--tokens' : '--token-source';
  if (err.message.startsWith('--')) return err;
  const hint =
    err instanceof TokenFileError
      ? `; \`wstcp tokens check ${config.source.replace(/^file:/, '')}\` lists every problem`
      : '';
  return new ConfigError(`${flag}: ${err.message}${hint}`, { cause: err });
}
