/**
 * HTTP endpoints besides WebSocket sessions and the web handler (--web, --novnc): health checks, metrics,
 * channels. Each is a Route in a file of its own, listed in ROUTES; the front door tries them in order
 * on every request, plain or upgrade, before the defaults.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Gate } from '../admission/pipeline.js';
import { channelRoute } from '../channels/route.js';
import type { Config } from '../config/config.js';
import type { Health } from '../observe/health.js';
import type { Logger } from '../observe/log.js';
import type { BridgeStats } from '../observe/stats.js';
import { healthRoute } from './health-route.js';

export interface Route {
  /**
   * Whether this route serves `path`: the request's path as the front door parsed it (request-url.ts:
   * without the query, dot segments resolved), the one the handlers below get too.
   */
  matches(path: string): boolean;
  /** Answers a plain request; without it, plain requests on this path go to the defaults. */
  request?(req: IncomingMessage, res: ServerResponse, path: string): void;
  /** Takes a WebSocket upgrade request; without it, upgrades on this path become sessions. */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): void;
  /** Resolves once the route can serve (its stores connected); the bridge listens only after. */
  ready?(): Promise<void>;
  /** Ends the route's connections and releases what it holds; called once when the bridge closes. */
  close?(): Promise<void>;
}

/** What a route may use of the bridge. */
export interface RouteContext {
  readonly config: Config;
  readonly log: Logger;
  readonly stats: () => BridgeStats;
  /** The bridge's admission gates (limits, origin, auth), for routes that admit clients as it does. */
  readonly gates: readonly Gate[];
  /** Alive and ready (/healthz, /readyz). */
  readonly health: Health;
}

/** Builds a route for a bridge, or undefined when its flags are not given. */
export type RouteFactory = (ctx: RouteContext) => Route | undefined;

/** Every endpoint, in the order they are tried. To add one: `(ctx) => metricsRoute(ctx),`. */
const ROUTES: readonly RouteFactory[] = [(ctx) => healthRoute(ctx), (ctx) => channelRoute(ctx)];

/** The routes a bridge serves. */
export function buildRoutes(ctx: RouteContext): Route[] {
  return ROUTES.map((factory) => factory(ctx)).filter((route) => route !== undefined);
}
