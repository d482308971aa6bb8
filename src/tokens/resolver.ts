/**
 * The TargetResolver for token routing: token from the request -> store lookup (bounded in time) -> target.
 * Missing token -> 401 TOKEN_MISSING, unknown -> 404 TOKEN_UNKNOWN, store down or slow -> 503
 * STORE_UNAVAILABLE with a warning logged (the client only learns that the store is unavailable).
 */

import type { HandshakeContext, TargetResolver } from '../admission/pipeline.js';
import { describeError, HttpError, refuse } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { formatTarget, type SocketTarget } from '../targets/registry.js';
import { StoreUnavailableError, type TokenStore } from './store.js';
import { tokenFromRequest } from './token-from-request.js';
import { tokenTag } from './token-tag.js';

export interface TokenResolverOptions {
  readonly hostToken: boolean;
  readonly lookupTimeoutMs: number;
  readonly log: Logger;
}

/** Runs the lookup, failing with StoreUnavailableError after `ms`; the timer is cleared on every outcome. */
function lookupWithin(store: TokenStore, token: string, ms: number): Promise<SocketTarget | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreUnavailableError(`no answer within ${ms} ms`)), ms);
    store.lookup(token).then(
      (target) => {
        clearTimeout(timer);
        resolve(target);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Resolves handshakes through a token store; owns the store and closes it.
 * @example
 * const resolver = new TokenResolver(await openTokenStore(config.tokens, log), { hostToken: false, lookupTimeoutMs: 5000, log });
 */
export class TokenResolver implements TargetResolver {
  private readonly store: TokenStore;
  private readonly options: TokenResolverOptions;

  constructor(store: TokenStore, options: TokenResolverOptions) {
    this.store = store;
    this.options = options;
  }

  /** A store that keeps a connection (Redis) and has lost it, or an API that does not answer, is not ready. */
  async problem(): Promise<string | undefined> {
    const connection = this.store as { connected?: boolean };
    const down = connection.connected === false || (this.store.reachable && !(await this.store.reachable()));
    return down ? `the token store ${this.store.description} is unreachable` : undefined;
  }

  async resolve(ctx: HandshakeContext): Promise<SocketTarget> {
    const { hostToken, lookupTimeoutMs, log } = this.options;
    const token = tokenFromRequest(ctx.url, ctx.req.headers, hostToken);
    if (token === undefined) {
      throw refuse(
        'TOKEN_MISSING',
        hostToken
          ? 'no Host header to take the token from'
          : 'no token in the request (expected ?token=TOKEN)',
      );
    }
    const tag = tokenTag(token);
    let target: SocketTarget | undefined;
    try {
      target = await lookupWithin(this.store, token, lookupTimeoutMs);
    } catch (err) {
      if (err instanceof HttpError) {
        log.debug('tokens.refused', { token: tag, client: ctx.clientAddress, code: err.code });
        throw err;
      }
      const fields = {
        store: this.store.description,
        token: tag,
        client: ctx.clientAddress,
        error: describeError(err),
      };
      // A StoreUnavailableError is an outage; anything else escaping a store is a bug worth an error line.
      if (err instanceof StoreUnavailableError) log.warn('tokens.store_unavailable', fields);
      else log.error('tokens.store_failed', fields);
      throw refuse('STORE_UNAVAILABLE', 'the token store is unavailable, try again shortly', { cause: err });
    }
    if (target === undefined) {
      log.debug('tokens.unknown', { token: tag, client: ctx.clientAddress });
      throw refuse('TOKEN_UNKNOWN', 'unknown token');
    }
    log.debug('tokens.resolved', { token: tag, target: formatTarget(target) });
    return target;
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
