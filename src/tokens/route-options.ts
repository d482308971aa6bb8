/**
 * A token's options besides its target (targets/target.ts RouteOptions). Today one: the subprotocols the
 * target speaks, accepted for that token besides `binary` and --subprotocol.
 *
 * Text forms (token file lines, plain Redis values, plain API answers, `wstcp tokens set`): words after
 * the target, `mqtt1: 127.0.0.1:1883 subprotocol=mqtt,mqttv3.1`. JSON forms (Redis, API answers, JWT
 * claims): `"subprotocols": ["mqtt", "mqttv3.1"]` or `"subprotocols": "mqtt,mqttv3.1"`.
 *
 * websockify's token files parse unchanged: a websockify target never ends in ` subprotocol=...` (its
 * port cannot hold a space); only a unix socket path whose last word starts with "subprotocol=" would.
 */
import { AddressError } from '../address.js';
import { SUBPROTOCOL_PATTERN } from '../front/handshake.js';
import { parseSocketTarget, type SocketTarget } from '../targets/registry.js';
import type { RouteOptions } from '../targets/target.js';

const TRAILING_OPTION = /\s+subprotocol=(\S*)$/;

function subprotocolNames(text: string): string[] {
  const names = text.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!SUBPROTOCOL_PATTERN.test(name))
      throw new AddressError(`"${name}" is not a subprotocol name (subprotocol=mqtt,mqttv3.1)`);
  }
  return names;
}

/** Adds `subprotocols` to `target` when there are any (a target without options stays as it was). */
function withSubprotocols(target: SocketTarget, subprotocols: readonly string[]): SocketTarget {
  return subprotocols.length > 0 ? { ...target, subprotocols } : target;
}

/**
 * A stored target in text form with its options; throws AddressError when either is malformed.
 * @example parseStoredTarget('127.0.0.1:1883 subprotocol=mqtt') // { kind: 'tcp', host, port, subprotocols: ['mqtt'] }
 */
export function parseStoredTarget(text: string): SocketTarget {
  let rest = text.trim();
  const subprotocols: string[] = [];
  // Each round removes one option word from the end, so the loop ends within the length of the text.
  for (let match = TRAILING_OPTION.exec(rest); match; match = TRAILING_OPTION.exec(rest)) {
    subprotocols.unshift(...subprotocolNames(match[1] ?? ''));
    rest = rest.slice(0, match.index);
  }
  return withSubprotocols(parseSocketTarget(rest), subprotocols);
}

/** The option words of `options` for a text form: ` subprotocol=mqtt,mqttv3.1`, or '' when none. */
export function formatRouteOptions(options: RouteOptions): string {
  return options.subprotocols?.length ? ` subprotocol=${options.subprotocols.join(',')}` : '';
}

/** Adds a JSON value's `subprotocols` (an array of names or a comma-separated string) to `target`. */
export function withJsonSubprotocols(target: SocketTarget, value: unknown): SocketTarget {
  if (value === undefined || value === null) return target;
  if (typeof value === 'string') return withSubprotocols(target, subprotocolNames(value));
  if (!Array.isArray(value) || !value.every((name) => typeof name === 'string'))
    throw new AddressError('"subprotocols" is neither a list of names nor a string');
  return withSubprotocols(target, subprotocolNames(value.join(',')));
}
