/**
 * --trusted-proxy CIDR (repeatable): the proxies whose word wstcp takes for the client's address, in a
 * PROXY protocol header or in X-Forwarded-For / Forwarded. Nobody else's.
 */
import { BlockList, isIP } from 'node:net';

/** A CIDR that does not parse; the config turns it into a ConfigError naming the flag. */
export class CidrError extends Error {}

export interface TrustedProxies {
  /** True when `address` (as Node reports peers, IPv4-mapped or not) is inside one of the ranges. */
  has(address: string): boolean;
  /** The ranges as given, for the startup log line. */
  readonly ranges: readonly string[];
}

/** `::ffff:a.b.c.d` is the IPv4 client a.b.c.d on a dual-stack socket. */
function unmapped(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && isIP(address.slice(7)) === 4
    ? address.slice(7)
    : address;
}

/**
 * Parses CIDRs (`10.0.0.0/8`, `2001:db8::/32`) and bare addresses (one host). Throws CidrError.
 *
 * @example
 * const trusted = trustedProxies(['127.0.0.1', '10.0.0.0/8']);
 * trusted.has('::ffff:10.1.2.3'); // true
 */
export function trustedProxies(ranges: readonly string[]): TrustedProxies {
  const list = new BlockList();
  for (const range of ranges) {
    const [address = '', prefixText, extra] = range.trim().split('/');
    const family = isIP(address);
    if (family === 0 || extra !== undefined) throw new CidrError(`"${range}" is not an IP address or CIDR`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const max = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (prefixText !== undefined && (!/^\d{1,3}$/.test(prefixText) || prefix > max)) {
      throw new CidrError(`"${range}" has a prefix length outside 0-${max}`);
    }
    list.addSubnet(address, prefix, type);
  }
  return {
    ranges: [...ranges],
    has(address: string): boolean {
      const plain = unmapped(address);
      const family = isIP(plain);
      if (family === 0) return false;
      return list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}
