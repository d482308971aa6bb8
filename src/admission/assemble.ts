/**
 * Config -> the parts of the upgrade pipeline (see pipeline.ts). Each feature module owns its factory;
 * this file only decides which parts a given Config needs. The parts that hold resources (the token
 * resolver, the TLS terminator) are closed once by the bridge when it closes.
 */
import type { ConnectionOptions } from 'node:tls';
import { authGates } from '../auth/gates.js';
import { guardHttp } from '../auth/http-guard.js';
import type { Config } from '../config/config.js';
import { ConfigError, refuse } from '../errors.js';
import { withResponseHeaders } from '../front/response-headers.js';
import type { Logger } from '../observe/log.js';
import type { CommandTarget } from '../targets/command.js';
import type { Pools } from '../targets/pool/pools.js';
import type { ProxyProtocolVersion } from '../targets/proxy-header.js';
import type { Target } from '../targets/target.js';
import { createTargetPolicy } from './allow-target.js';
import { type ClientAddressPolicy, clientAddressPolicy } from './client-address.js';
import { limitGates } from './limits.js';
import type { Gate, HttpHandler, TargetPolicy, TargetResolver, TlsTerminator } from './pipeline.js';
import { sharedLimitGates } from './shared-limits.js';
import type { SlotCounter } from './slots.js';
import { urlTargetResolver } from './url-target.js';

export interface BridgeParts {
  readonly gates: readonly Gate[];
  readonly resolver: TargetResolver;
  readonly policy: TargetPolicy | undefined;
  readonly tls: TlsTerminator | undefined;
  /** TLS options for connections to the target (--ssl-target); undefined for plain TCP. */
  readonly targetTls: ConnectionOptions | undefined;
  /** The member states and balancing of pools; undefined when the bridge cannot meet a pool. */
  readonly pools: Pools | undefined;
  readonly http: HttpHandler | undefined;
  /** Who the client is behind --trusted-proxy proxies (the socket's peer without them). */
  readonly clientOf?: ClientAddressPolicy;
  /** Where connection slots are counted, when not in plain gates of this process (closed with the bridge). */
  readonly slots?: SlotCounter | undefined;
  /** --target-proxy-protocol: the header version written first to every target. */
  readonly targetProxyProtocol?: ProxyProtocolVersion | undefined;
  /** --subprotocol: the subprotocols every target speaks, accepted besides `binary`. */
  readonly subprotocols: readonly string[];
}

/** The resolver for a single fixed target (`wstcp 6080 host:5900`, `--unix-target`). */
export function fixedTarget(target: Target): TargetResolver {
  return { resolve: async () => target, close: async () => {} };
}

/** Without a target or tokens (`--channels` alone) only the channel routes serve: handshakes get 404. */
function noTarget(): TargetResolver {
  return {
    resolve: async () => {
      throw refuse('NO_TARGET');
    },
    close: async () => {},
  };
}

/**
 * Feature modules are loaded only when their flags are used. Besides a faster start, this keeps the heap of
 * a plain bridge small: with node-forge, ioredis, jose and serve-handler loaded, V8 answers the 64 KiB
 * buffer of every socket read with full mark-compact collections, doubling the CPU per GB relayed
 * (docs/performance.md).
 */
export async function assembleParts(config: Config, log: Logger): Promise<BridgeParts> {
  // Checks that hold no resources run first, so a bad flag or file leaves nothing open behind it.
  const auth = authGates(config, log);
  const policy = createTargetPolicy(config.allowTargets, log);
  // config.ts checks this too; a URL-named target without an allow-list would make an open proxy.
  if (config.targetFromUrl && !policy) throw new ConfigError('--target-from-url needs --allow-target');
  const web = await webHandler(config, log);
  const targetTls = config.sslTarget
    ? (await import('../tls/target.js')).targetTlsOptions(config.sslTarget)
    : undefined;
  const tls = config.tls
    ? (await import('../tls/terminator.js')).createTlsTerminator(config.tls, log)
    : undefined;
  let resolver: TargetResolver;
  let http = web;
  try {
    if (config.command) {
      ({ resolver, http } = await commandParts(config, web, log));
    } else {
      resolver = config.tokens
        ? await (await import('../tokens/index.js')).createTokenResolver(config.tokens, log)
        : config.targetFromUrl
          ? urlTargetResolver()
          : config.target
            ? fixedTarget(config.target)
            : noTarget();
    }
  } catch (err) {
    await tls?.close();
    throw err;
  }
  if (http) http = withResponseHeaders(http, config.headers.http);
  const clientOf = clientAddressPolicy(config.ops.trustedProxies, config.ops.forwardedHeader);
  const limits = await limitParts(config);
  return {
    // Limits first: a flood is turned away before any password is hashed.
    gates: [...limits.gates, ...auth.handshake],
    slots: limits.slots,
    resolver,
    policy,
    tls,
    targetTls,
    pools: (await import('../targets/pool/open-pools.js')).openPools(config, log, targetTls),
    http: http ? guardHttp(http, auth.http, clientOf) : undefined,
    subprotocols: config.subprotocols,
    clientOf,
    targetProxyProtocol: config.ops.targetProxyProtocol,
  };
}

/**
 * The limit gates: plain ones in this process, or gates on a shared count: Redis for every instance
 * (--limits-store), the primary for every worker (--workers), or this process for --max-connections-per-token.
 */
async function limitParts(config: Config): Promise<{ gates: Gate[]; slots: SlotCounter | undefined }> {
  const { limits } = config;
  const any =
    limits.maxConnections !== undefined ||
    limits.maxConnectionsPerIp !== undefined ||
    limits.maxConnectionsPerToken !== undefined;
  if (!any) return { gates: [], slots: undefined };
  let slots: SlotCounter | undefined;
  if (limits.store !== undefined) {
    const { RedisSlots, parseLimitsStore } = await import('./redis-slots.js');
    const { url, options } = parseLimitsStore(limits.store);
    const redis = new RedisSlots(url, options);
    await redis.connected(5000);
    slots = redis;
  } else if (config.workers !== undefined && (await import('node:cluster')).default.isWorker) {
    slots = new (await import('./primary-slots.js')).PrimarySlots();
  } else if (limits.maxConnectionsPerToken !== undefined) {
    slots = new (await import('./slots.js')).LocalSlots();
  }
  if (!slots) return { gates: limitGates(limits), slots: undefined };
  const tokens = config.tokens;
  const tokenOf = tokens ? (await import('../tokens/token-from-request.js')).tokenFromRequest : undefined;
  const hostToken = tokens?.hostToken ?? false;
  return {
    gates: sharedLimitGates(
      limits,
      slots,
      tokenOf && ((ctx) => tokenOf(ctx.url, ctx.req.headers, hostToken)),
    ),
    slots,
  };
}

/** --cmd/--dir: the command target every session opens, and the plain-request handler around --web. */
async function commandParts(
  config: Config,
  web: HttpHandler | undefined,
  log: Logger,
): Promise<{ resolver: TargetResolver; http: HttpHandler | undefined }> {
  const { CommandLauncher } = await import('../targets/command/launcher.js');
  const { commandHttpHandler } = await import('../targets/command/http-handler.js');
  const launcher = new CommandLauncher(config.command!, log, config.maxBufferBytes);
  await launcher.check();
  const target: CommandTarget = { kind: 'command', launcher };
  return {
    // Closed with the bridge, after its sessions: the launcher's fork servers go with it.
    resolver: { resolve: async () => target, close: async () => launcher.close() },
    http: commandHttpHandler({ launcher, web, log }),
  };
}

async function webHandler(config: Config, log: Logger): Promise<HttpHandler | undefined> {
  if (!config.web.dir && !config.web.novnc) return undefined;
  return (await import('../web/index.js')).createWebHandler(config.web, log, {
    redactTokens: config.tokens !== undefined,
  });
}
