/**
 * Targets given as a host and a port (JSON token APIs, Redis values, JWT claims): `{host: "h", port: 5900}`,
 * `{host: "h", port: "5900"}`, `{host: "h:5900"}`, or websockify's `{host: "unix_socket", port: "/path"}`;
 * and pools, as `{targets: "a:5900,b:5900"}` or `{targets: [...]}`; each may add `"subprotocols": ["mqtt"]`
 * (route-options.ts).
 */
import { AddressError } from '../address.js';
import { type PoolMember, parseMember, parseWeight, poolOf } from '../targets/pool/pool-target.js';
import { parseSocketTarget, type SocketTarget } from '../targets/registry.js';
import { withJsonSubprotocols } from './route-options.js';

/**
 * Builds a target from loosely typed `host`, `port` and `subprotocols` fields; throws AddressError when
 * they do not make one.
 */
export function targetFromHostPort(host: unknown, port: unknown, subprotocols?: unknown): SocketTarget {
  return withJsonSubprotocols(socketTargetFrom(host, port), subprotocols);
}

function socketTargetFrom(host: unknown, port: unknown): SocketTarget {
  if (typeof host !== 'string') throw new AddressError('there is no "host" string');
  if (port === undefined) return parseSocketTarget(host);
  if (typeof port !== 'number' && typeof port !== 'string') throw new AddressError('"port" is not a number');
  return host === 'unix_socket'
    ? parseSocketTarget(`unix_socket:${port}`)
    : parseSocketTarget(`${host}:${port}`);
}

/**
 * Reads a JSON object with `host` and `port` (the forms targetFromHostPort accepts); throws AddressError
 * with `notJson` as its message when `text` is not JSON.
 */
export function targetFromJson(text: string, notJson: string): SocketTarget {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AddressError(notJson);
  }
  return targetFromFields((value ?? {}) as TargetFields);
}

/** The fields of a JSON answer, a Redis value or JWT claims that name a target. */
export interface TargetFields {
  readonly host?: unknown;
  readonly port?: unknown;
  readonly targets?: unknown;
  readonly subprotocols?: unknown;
}

/** `targets` (a pool: see poolFromJson) when present, else `host` and `port`; with `subprotocols`. */
export function targetFromFields(fields: TargetFields): SocketTarget {
  if (fields.targets !== undefined)
    return withJsonSubprotocols(poolFromJson(fields.targets), fields.subprotocols);
  return targetFromHostPort(fields.host, fields.port, fields.subprotocols);
}

/**
 * A pool given in JSON: its text (`"a:5900,b:5900@2"`), or a list whose items are member texts
 * (`"a:5900 weight=2"`) or objects `{"host": "a", "port": 5900, "weight": 2, "backup": true}`.
 */
export function poolFromJson(value: unknown): SocketTarget {
  if (typeof value === 'string') return parseSocketTarget(value);
  if (!Array.isArray(value)) throw new AddressError('"targets" is neither a string nor a list');
  return poolOf(value.map(memberFromJson));
}

function memberFromJson(item: unknown): PoolMember {
  if (typeof item === 'string') return parseMember(item);
  const { host, port, weight, backup } = (item ?? {}) as Record<string, unknown>;
  const target = targetFromHostPort(host, port);
  if (target.kind === 'pool') throw new AddressError('a member of "targets" is itself a pool');
  if (backup !== undefined && typeof backup !== 'boolean') {
    throw new AddressError('"backup" is not true or false');
  }
  const name = String(host);
  return {
    target,
    weight: weight === undefined ? 1 : parseWeight(String(weight), name),
    backup: backup === true,
  };
}
