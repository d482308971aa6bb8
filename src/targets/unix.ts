/** Unix socket targets: `unix_socket:/path` (websockify's form) or --unix-target PATH. */
import { AddressError } from '../address.js';
import { connectSocket } from './socket-connect.js';
import { SocketStream } from './socket-stream.js';
import type { TargetKind } from './target.js';
import { upgradeToTls } from './tls.js';

export interface UnixTarget {
  readonly kind: 'unix';
  readonly path: string;
}

const PREFIX = 'unix_socket:';

export const unixKind: TargetKind<UnixTarget> = {
  kind: 'unix',
  parse(text) {
    const trimmed = text.trim();
    if (!trimmed.startsWith(PREFIX)) return undefined;
    const path = trimmed.slice(PREFIX.length);
    if (!path) throw new AddressError(`"${trimmed}" names no unix socket path`);
    return { kind: 'unix', path };
  },
  format: (target) => `${PREFIX}${target.path}`,
  allowedBy: (rules, target) => rules.path(target.path),
  async open(target, options) {
    const name = `${PREFIX}${target.path}`;
    const totalMs = options.deadline - Date.now();
    const socket = await connectSocket({ path: target.path }, name, totalMs, totalMs, options);
    if (!options.tls) return new SocketStream(socket);
    return new SocketStream(await upgradeToTls(socket, name, undefined, options.tls, options));
  },
};
