/**
 * TCP targets: `host:port`, `[v6]:port` or `v6:addr:port`. Every resolved address is tried in turn;
 * with --ssl-target the connection then speaks TLS (tls.ts).
 */
import { formatHostPort, parseHostPort } from '../address.js';
import { connectAny, resolveHost } from './socket-connect.js';
import { SocketStream } from './socket-stream.js';
import type { TargetKind } from './target.js';
import { upgradeToTls } from './tls.js';

export interface TcpTarget {
  readonly kind: 'tcp';
  readonly host: string;
  readonly port: number;
}

export const tcpKind: TargetKind<TcpTarget> = {
  kind: 'tcp',
  /** Anything that is not another kind's form is read as host:port (which throws AddressError if not). */
  parse: (text) => ({ kind: 'tcp', ...parseHostPort(text) }),
  format: (target) => formatHostPort(target.host, target.port),
  allowedBy: (rules, target) => rules.hostPort(target.host, target.port),
  async open(target, options) {
    const name = formatHostPort(target.host, target.port);
    const addresses = await resolveHost(target.host, name, options.preferIpv6);
    const socket = await connectAny(addresses, target.port, name, options);
    if (!options.tls) return new SocketStream(socket);
    return new SocketStream(await upgradeToTls(socket, name, target.host, options.tls, options));
  },
};
