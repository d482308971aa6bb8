/**
 * Connection limits (--max-connections, --max-connections-per-ip) as gates. A slot is taken when the
 * handshake passes the gate and given back by the Release the gate returns, which the server calls once
 * when the handshake fails later or the session ends. Refusals never touch live sessions.
 */
import type { LimitsConfig } from '../config/config.js';
import { refuse } from '../errors.js';
import type { Gate, HandshakeContext, Release } from './pipeline.js';

function plural(n: number): string {
  return n === 1 ? '1 session' : `${n} sessions`;
}

/** Releases exactly once, however often it is called. */
function once(release: () => void): Release {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    release();
  };
}

/** A gate allowing at most `max` live sessions in total (503 WSTCP_TOO_MANY_CONNECTIONS beyond). */
export function maxConnectionsGate(max: number): Gate & { readonly live: () => number } {
  let live = 0;
  const gate = (): Release => {
    if (live >= max)
      throw refuse('TOO_MANY_CONNECTIONS', `the bridge is at its limit of ${plural(max)}; try again later`);
    live += 1;
    return once(() => {
      live -= 1;
    });
  };
  return Object.assign(gate, { live: () => live });
}

/** A gate allowing at most `max` live sessions per client address (429 WSTCP_TOO_MANY_FROM_ADDRESS beyond). */
export function maxPerAddressGate(max: number): Gate & { readonly live: (address: string) => number } {
  const counts = new Map<string, number>();
  const gate = (ctx: HandshakeContext): Release => {
    // The server has already mapped `::ffff:a.b.c.d` to `a.b.c.d`, so each client counts under one key.
    const address = ctx.clientAddress;
    const current = counts.get(address) ?? 0;
    if (current >= max) {
      throw refuse(
        'TOO_MANY_FROM_ADDRESS',
        `at most ${plural(max)} per client address; close one and retry`,
        {
          headers: { 'Retry-After': '10' },
        },
      );
    }
    counts.set(address, current + 1);
    return once(() => {
      const left = (counts.get(address) ?? 1) - 1;
      // Entries for gone clients are dropped, so the map cannot grow with every address ever seen.
      if (left <= 0) counts.delete(address);
      else counts.set(address, left);
    });
  };
  return Object.assign(gate, { live: (address: string) => counts.get(address) ?? 0 });
}

/** The limit gates a config asks for, the per-address one first (a single flooding client is told so). */
export function limitGates(limits: LimitsConfig): Gate[] {
  const gates: Gate[] = [];
  if (limits.maxConnectionsPerIp !== undefined) gates.push(maxPerAddressGate(limits.maxConnectionsPerIp));
  if (limits.maxConnections !== undefined) gates.push(maxConnectionsGate(limits.maxConnections));
  return gates;
}
