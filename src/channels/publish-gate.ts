/**
 * Who may publish. By default only loopback clients: a channel fed from the outside is a decision, taken
 * with --publish-allow CIDR (addresses) or --publish-auth (Basic credentials for publishers, from any
 * address). A refused publisher gets 403 with the reason, or 401 with a challenge for credentials.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { parseBasicAuthorization } from '../auth/basic.js';
import type { CredentialCheck } from '../auth/htpasswd.js';
import { ConfigError, type HttpError, refuse } from '../errors.js';

export interface PublishPolicy {
  /** Networks allowed besides loopback (--publish-allow). */
  readonly allow: BlockList | undefined;
  /** --publish-auth: credentials every publisher must give. */
  readonly credentials: CredentialCheck | undefined;
}

/** Parses --publish-allow values (`10.0.0.0/8`, `2001:db8::/32`, or one address). */
export function parsePublishAllow(values: readonly string[]): BlockList | undefined {
  if (values.length === 0) return undefined;
  const list = new BlockList();
  for (const value of values) {
    const [address = '', prefixText] = value.trim().split('/');
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    const max = family === 'ipv4' ? 32 : 128;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > max || prefixText === '') {
      throw new ConfigError(`--publish-allow: "${value}" is not an address or a CIDR block (10.0.0.0/8)`);
    }
    list.addSubnet(address, prefix, family);
  }
  return list;
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function addressAllowed(address: string, allow: BlockList | undefined): boolean {
  if (isLoopback(address)) return true;
  if (!allow) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address)?.[1];
  if (mapped) return allow.check(mapped, 'ipv4');
  return allow.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
}

/** undefined when `req` may publish; otherwise the refusal to answer. */
export function checkPublisher(req: IncomingMessage, policy: PublishPolicy): HttpError | undefined {
  const address = req.socket.remoteAddress ?? '';
  const { credentials, allow } = policy;
  if (!credentials || allow) {
    if (!addressAllowed(address, allow)) {
      return refuse(
        'PUBLISH_FORBIDDEN',
        allow
          ? 'publishing is not allowed from this address (--publish-allow)'
          : 'publishing is allowed only from loopback (see --publish-allow and --publish-auth)',
      );
    }
  }
  if (!credentials) return undefined;
  const challenge = { 'WWW-Authenticate': 'Basic realm="wstcp publish"' };
  const given = parseBasicAuthorization(req.headers.authorization);
  if (given.kind !== 'present')
    return refuse('UNAUTHORIZED', 'publisher credentials required', { headers: challenge });
  if (!credentials.check(given.user, given.password)) {
    return refuse('UNAUTHORIZED', 'wrong publisher user name or password', { headers: challenge });
  }
  return undefined;
}
