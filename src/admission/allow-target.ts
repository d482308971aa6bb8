/**
 * --allow-target: the targets sessions may reach, so that no token store (least of all an HTTP API or a
 * JWT minted elsewhere) can turn the bridge into an open proxy. Rules, repeatable:
 *
 *   desk1.internal:5900      a host name and a port (names match names only, case-insensitively)
 *   10.0.0.5:5900-5999       an IP literal and a port range ([v6]:port for IPv6)
 *   10.0.0.0/8               a CIDR, any port;  10.0.0.0/8:5900-5999  with ports;  fd00::/8:5900
 *   vnc.internal:*           any port
 *   unix_socket:/run/vnc/    unix sockets under a directory (a path without trailing slash: that socket only)
 *
 * IP rules (literals and CIDRs) match targets given as IP literals only; a target given as a host name
 * matches only a rule naming that host. The bridge does not resolve names to check them: DNS can answer
 * differently at check time and at connect time, so "allow 10.0.0.0/8" must not let `evil.example` in.
 */
import { BlockList, isIP } from 'node:net';
import { resolve } from 'node:path';
import { ConfigError, refuse } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { formatTarget, kindOf } from '../targets/registry.js';
import type { TargetPolicy } from './pipeline.js';

type Rule =
  | { kind: 'ip'; list: BlockList; low: number; high: number }
  | { kind: 'name'; name: string; low: number; high: number }
  | { kind: 'unix'; path: string; prefix: boolean };

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function parsePorts(text: string, rule: string): { low: number; high: number } {
  if (text === '*') return { low: 1, high: 65535 };
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const low = Number(match?.[1]);
  const high = match?.[2] === undefined ? low : Number(match[2]);
  if (!match || low < 1 || high > 65535 || low > high) {
    throw new ConfigError(`--allow-target "${rule}": "${text}" is not a port, a range like 5900-5999, or *`);
  }
  return { low, high };
}

function ipFamily(address: string): 'ipv4' | 'ipv6' | undefined {
  const v = isIP(address);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
}

/** `10.0.0.0/8`, `10.0.0.0/8:5900-5999`, `fd00::/8:5900` or `[fd00::/8]:5900`. */
function parseCidr(text: string): Rule {
  const match =
    /^\[([^\]/]+)\/(\d{1,3})\](?::(.+))?$/.exec(text) ?? /^([^/[\]]+)\/(\d{1,3})(?::(.+))?$/.exec(text);
  const [, address = '', prefixText = '', portText] = match ?? [];
  const family = ipFamily(address);
  const prefix = Number(prefixText);
  if (!match || !family || prefix > (family === 'ipv4' ? 32 : 128)) {
    throw new ConfigError(
      `--allow-target "${text}": not a CIDR like 10.0.0.0/8, fd00::/8 or 10.0.0.0/8:5900-5999`,
    );
  }
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  const ports = portText === undefined ? { low: 1, high: 65535 } : parsePorts(portText, text);
  return { kind: 'ip', list, ...ports };
}

/** Parses one --allow-target rule; throws ConfigError naming the rule. */
export function parseAllowRule(text: string): Rule {
  const rule = text.trim();
  if (rule.startsWith('unix_socket:')) {
    const path = rule.slice('unix_socket:'.length);
    if (!path.startsWith('/'))
      throw new ConfigError(`--allow-target "${rule}": the unix socket path must be absolute`);
    const prefix = path.endsWith('/');
    return { kind: 'unix', path: prefix ? `${resolve(path)}/` : resolve(path), prefix };
  }
  if (rule.includes('/')) return parseCidr(rule);
  const colon = rule.lastIndexOf(':');
  if (colon < 0)
    throw new ConfigError(`--allow-target "${rule}": give a port, e.g. ${rule}:5900 or ${rule}:*`);
  let host = rule.slice(0, colon);
  const ports = parsePorts(rule.slice(colon + 1), rule);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') throw new ConfigError(`--allow-target "${rule}": the host is empty`);
  const family = ipFamily(host);
  if (family) {
    const list = new BlockList();
    list.addAddress(host, family);
    return { kind: 'ip', list, ...ports };
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(host)) {
    throw new ConfigError(`--allow-target "${rule}": "${host}" is neither a host name nor an IP address`);
  }
  return { kind: 'name', name: normalizeName(host), ...ports };
}

/**
 * The parsed --allow-target rules, asked by each kind of target (TargetKind.allowedBy) about the address
 * it would reach: sockets by host and port or by path; kinds that reach no address answer for themselves.
 */
export class AllowRules {
  constructor(private readonly rules: readonly Rule[]) {}

  /** A TCP address: an IP literal matches IP rules, a host name matches rules naming that host. */
  hostPort(host: string, port: number): boolean {
    const family = ipFamily(host);
    return this.rules.some((rule) => {
      if (rule.kind === 'unix' || port < rule.low || port > rule.high) return false;
      if (rule.kind === 'ip') return family !== undefined && rule.list.check(host, family);
      return family === undefined && normalizeName(host) === rule.name;
    });
  }

  /** A unix socket path. */
  path(path: string): boolean {
    const resolved = resolve(path);
    return this.rules.some(
      (rule) =>
        rule.kind === 'unix' && (rule.prefix ? resolved.startsWith(rule.path) : resolved === rule.path),
    );
  }
}

/**
 * Builds the policy for the --allow-target rules, or undefined when none are given (every target allowed).
 * @example
 * const policy = createTargetPolicy(['10.0.0.0/8:5900-5999', 'desk.internal:5900'], log);
 * policy?.({ kind: 'tcp', host: '192.168.1.1', port: 22 }, ctx); // throws 403 TARGET_NOT_ALLOWED
 */
export function createTargetPolicy(rules: readonly string[], log: Logger): TargetPolicy | undefined {
  if (rules.length === 0) return undefined;
  const parsed = new AllowRules(rules.map(parseAllowRule));
  return (target, ctx) => {
    if (kindOf(target).allowedBy(parsed, target)) return;
    log.warn('tokens.target_not_allowed', { target: formatTarget(target), client: ctx.clientAddress });
    throw refuse('TARGET_NOT_ALLOWED', 'the target is not allowed by --allow-target');
  };
}
