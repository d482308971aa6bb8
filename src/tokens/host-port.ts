/**
 * Targets given as a host and a port (JSON token APIs, Redis values, JWT claims): `{host: "h", port: 5900}`,
 * `{host: "h", port: "5900"}`, `{host: "h:5900"}`, or websockify's `{host: "unix_socket", port: "/path"}`.
 */
import { AddressError } from '../address.js';
import { parseSocketTarget, type SocketTarget } from '../targets/registry.js';

/** Builds a target from loosely typed `host` and `port` fields; throws AddressError when they do not make one. */
export function targetFromHostPort(host: unknown, port: unknown): SocketTarget {
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
  const { host, port } = (value ?? {}) as { host?: unknown; port?: unknown };
  return targetFromHostPort(host, port);
}
