/**
 * One active health probe (--health-interval): a TCP (or unix socket) connect to the member, plus a TLS
 * handshake with --ssl-target, then an immediate close. A member that accepts connections but whose TLS
 * is broken is as useless to a session as one that refuses, so with --ssl-target the handshake counts.
 */
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import type { MemberTarget } from './pool-target.js';

/** Probes a member; resolves true when it answered within `timeoutMs`. Never rejects; leaves nothing open. */
export type Probe = (member: MemberTarget, timeoutMs: number, signal: AbortSignal) => Promise<boolean>;

/** The probe for members reached over plain sockets, or TLS with these options (--ssl-target). */
export function socketProbe(tls: ConnectionOptions | undefined): Probe {
  return (member, timeoutMs, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve(false);
      const endpoint =
        member.kind === 'unix' ? { path: member.path } : { host: member.host, port: member.port };
      const raw = netConnect(endpoint);
      let secure: Socket | undefined;
      let done = false;
      const finish = (ok: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        (secure ?? raw).destroy();
        raw.destroy();
        resolve(ok);
      };
      const onAbort = () => finish(false);
      const onError = () => finish(false);
      const timer = setTimeout(onAbort, timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      // Listeners stay: an error after the result must not go unhandled.
      raw.on('error', onError);
      if (tls === undefined) {
        raw.once('connect', () => finish(true));
        return;
      }
      const host = member.kind === 'tcp' ? member.host : undefined;
      const servername = host !== undefined && isIP(host) === 0 ? host : undefined;
      secure = tlsConnect({ ...tls, socket: raw, host, servername: tls.servername ?? servername });
      secure.on('error', onError);
      secure.once('secureConnect', () => finish(true));
    });
}
