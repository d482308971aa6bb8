/**
 * The limit gates on a SlotCounter (slots.ts): the same refusals as limits.ts, counted wherever the
 * counter counts (the --workers primary, Redis), plus --max-connections-per-token.
 */
import { createHash } from 'node:crypto';
import type { LimitsConfig } from '../config/config.js';
import { refuse } from '../errors.js';
import type { Gate, HandshakeContext, Release } from './pipeline.js';
import type { SlotCounter } from './slots.js';

function plural(n: number): string {
  return n === 1 ? '1 session' : `${n} sessions`;
}

/** What a token is counted under: its hash, so that no store (Redis) ever holds the token itself. */
export function tokenKey(token: string): string {
  return `token:${createHash('sha256').update(token).digest('hex').slice(0, 32)}`;
}

/** The token a handshake carries, or undefined (the token routing's own rules: tokens/token-from-request.ts). */
export type TokenOf = (ctx: HandshakeContext) => string | undefined;

/**
 * The gates `limits` asks for, on `counter`: per address first (a single flooding client is told so),
 * then the total, then per token. A counter that fails (Redis down) refuses with 503.
 */
export function sharedLimitGates(
  limits: LimitsConfig,
  counter: SlotCounter,
  tokenOf: TokenOf | undefined,
): Gate[] {
  const gates: Gate[] = [];
  const take = async (key: string, max: number): Promise<Release | undefined> => {
    try {
      return await counter.take(key, max);
    } catch {
      throw refuse('STORE_UNAVAILABLE', 'the connection limits cannot be checked right now; try again later');
    }
  };
  const perIp = limits.maxConnectionsPerIp;
  if (perIp !== undefined) {
    gates.push(async (ctx) => {
      const release = await take(`ip:${ctx.clientAddress}`, perIp);
      if (release) return release;
      throw refuse(
        'TOO_MANY_FROM_ADDRESS',
        `at most ${plural(perIp)} per client address; close one and retry`,
        {
          headers: { 'Retry-After': '10' },
        },
      );
    });
  }
  const total = limits.maxConnections;
  if (total !== undefined) {
    gates.push(async () => {
      const release = await take('total', total);
      if (release) return release;
      throw refuse('TOO_MANY_CONNECTIONS', `the bridge is at its limit of ${plural(total)}; try again later`);
    });
  }
  const perToken = limits.maxConnectionsPerToken;
  if (perToken !== undefined && tokenOf) {
    gates.push(async (ctx) => {
      const token = tokenOf(ctx);
      if (token === undefined) return undefined;
      const release = await take(tokenKey(token), perToken);
      if (release) return release;
      throw refuse('TOO_MANY_FOR_TOKEN', `at most ${plural(perToken)} per token; close one and retry`, {
        headers: { 'Retry-After': '10' },
      });
    });
  }
  return gates;
}
