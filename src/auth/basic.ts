/**
 * HTTP Basic authentication for handshakes (and static files with --web-auth): websockify's
 * BasicHTTPAuth plugin and the native --basic-auth (one user:pass, or an htpasswd file).
 * Passwords are compared in constant time and never logged or echoed.
 */
import { existsSync, statSync } from 'node:fs';
import type { Gate, HandshakeContext } from '../admission/pipeline.js';
import { ConfigError, refuse } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { type CredentialCheck, reloadingHtpasswd } from './htpasswd.js';
import { constantTimeEqual } from './password-hash.js';

/** The credentials in an Authorization header, or why there are none. */
export type BasicCredentials =
  | { readonly kind: 'present'; readonly user: string; readonly password: Buffer }
  | { readonly kind: 'missing' }
  | { readonly kind: 'malformed' };

/** Parses `Authorization: Basic base64(user:password)`. The password stays bytes (browsers send UTF-8). */
export function parseBasicAuthorization(header: string | undefined): BasicCredentials {
  if (header === undefined || header.trim() === '') return { kind: 'missing' };
  const match = /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header);
  if (!match) return { kind: 'malformed' };
  const decoded = Buffer.from(match[1]!, 'base64');
  const colon = decoded.indexOf(0x3a);
  if (colon < 0) return { kind: 'malformed' };
  return {
    kind: 'present',
    user: decoded.subarray(0, colon).toString('utf8'),
    password: decoded.subarray(colon + 1),
  };
}

/** One fixed `user:password`, compared in constant time. */
export function singleCredential(userPass: string): CredentialCheck {
  const colon = userPass.indexOf(':');
  const expectedUser = userPass.slice(0, colon);
  const expectedPassword = Buffer.from(userPass.slice(colon + 1), 'utf8');
  return {
    check(user, password) {
      // Both comparisons always run: a wrong user must cost the same time as a wrong password.
      const userOk = constantTimeEqual(user, expectedUser);
      const passwordOk = constantTimeEqual(password, expectedPassword);
      return userOk && passwordOk;
    },
  };
}

/**
 * The --basic-auth value: an existing file is an htpasswd file; otherwise it must be `user:password`.
 * Messages never repeat the value, which may be a password.
 */
export function basicAuthCredentials(value: string, log?: Logger): CredentialCheck {
  if (existsSync(value) && statSync(value).isFile()) return reloadingHtpasswd(value, log);
  const colon = value.indexOf(':');
  if (colon <= 0) {
    throw new ConfigError('--basic-auth: expected user:password or the path of an existing htpasswd file');
  }
  return singleCredential(value);
}

export interface BasicGateOptions {
  /** The realm in the WWW-Authenticate challenge. */
  readonly realm: string;
  /** Status for a malformed Authorization header (websockify answers 403; the native option 401). */
  readonly malformedStatus: 401 | 403;
}

/** A gate demanding valid Basic credentials: 401 with a WWW-Authenticate challenge when missing or wrong. */
export function basicAuthGate(credentials: CredentialCheck, options: BasicGateOptions): Gate {
  const challenge = { 'WWW-Authenticate': `Basic realm="${options.realm}"` };
  return (ctx: HandshakeContext) => {
    const given = parseBasicAuthorization(ctx.req.headers.authorization);
    if (given.kind === 'malformed') {
      if (options.malformedStatus === 403) throw refuse('FORBIDDEN', 'malformed Authorization header');
      throw refuse('UNAUTHORIZED', 'malformed Authorization header', { headers: challenge });
    }
    if (given.kind === 'missing')
      throw refuse('UNAUTHORIZED', 'credentials required', { headers: challenge });
    if (!credentials.check(given.user, given.password)) {
      throw refuse('UNAUTHORIZED', 'wrong user name or password', { headers: challenge });
    }
  };
}
