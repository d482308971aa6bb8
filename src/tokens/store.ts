/**
 * The one interface every token store implements, and the error a store raises when it cannot answer.
 * A store maps a token to a socket target; it never sees the HTTP request (the resolver extracts the token).
 */

import { WstcpError } from '../errors.js';
import type { SocketTarget } from '../targets/registry.js';

/** Looks tokens up. `undefined` means "no such token" (404); a thrown StoreUnavailableError means 503. */
export interface TokenStore {
  /** A short description for log lines and `wstcp tokens` output; never contains a secret. */
  readonly description: string;
  lookup(token: string): Promise<SocketTarget | undefined>;
  /** For stores with no standing connection (an HTTP API): resolves false when the store cannot be reached. */
  reachable?(): Promise<boolean>;
  /** Releases watchers and connections. Called once. */
  close(): Promise<void>;
}

/** A store that operators can edit with `wstcp tokens set|rm|list`. */
export interface WritableTokenStore extends TokenStore {
  set(token: string, target: SocketTarget): Promise<void>;
  /** Returns false when the token did not exist. */
  remove(token: string): Promise<boolean>;
  /** Every token with its target, sorted by token. */
  list(): Promise<Array<{ token: string; target: SocketTarget }>>;
}

/** Type guard for the writable stores. */
export function isWritable(store: TokenStore): store is WritableTokenStore {
  const s = store as Partial<WritableTokenStore>;
  return typeof s.set === 'function' && typeof s.remove === 'function' && typeof s.list === 'function';
}

/**
 * The store cannot answer right now (Redis down, API timing out or answering 5xx). The resolver turns it
 * into 503 STORE_UNAVAILABLE. `message` is logged, so it must not contain the token or a password.
 */
export class StoreUnavailableError extends WstcpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WSTCP_STORE_UNAVAILABLE', message, options);
  }
}
