/**
 * The command line: flags -> Config -> a running Bridge. The only module that reads process.argv, handles
 * signals or exits, so everything else can be started and stopped inside tests.
 */
import yargs from 'yargs';
import { assembleParts, type BridgeParts } from './admission/assemble.js';
import { Bridge } from './bridge.js';
import { detach, isDaemonChild, reportToParent } from './cli/daemon.js';
import { activatedSockets, forgetActivation, SystemdNotifier } from './cli/systemd.js';
import {
  attachToPrimary,
  checkWorkersConfig,
  isWorkerProcess,
  isWorkersPrimary,
  type PrimaryLink,
  WorkerPool,
  workerCount,
  workerSlot,
} from './cli/workers.js';
import { checkArgv } from './config/argv-check.js';
import { buildConfig, type Config } from './config/config.js';
import { exposureWarning } from './config/exposure.js';
import { HELP_GROUP_ORDER, optionSpecs, type RawOptions } from './config/options.js';
import { ConfigError, describeError, UsageError, WstcpError } from './errors.js';
import { Health } from './observe/health.js';
import { Logger } from './observe/log.js';
import { MetricsServer } from './observe/metrics-server.js';
import { openSyslog } from './observe/syslog.js';
import { formatTarget } from './targets/registry.js';
import { packageVersion } from './version.js';
import { viewerUrl } from './web/viewer-url.js';

const USAGE = `wstcp [options] [listen_host:]listen_port target_host:target_port
wstcp [options] --token-plugin PLUGIN --token-source ARG [listen_host:]listen_port
wstcp [options] --unix-target FILE [listen_host:]listen_port
wstcp [options] --unix-listen FILE target_host:target_port   (no listen port)
wstcp [options] --inetd target_host:target_port         (the listening socket is stdin)
wstcp [options] --channels [listen_host:]listen_port [target_host:target_port]   publish/subscribe channels
wstcp [options] --cmd 'COMMAND ARGS' [listen_host:]listen_port   a program per connection
wstcp [options] --dir DIR [listen_host:]listen_port     the program the URL path names, under DIR
wstcp websocketd [websocketd's options] COMMAND [ARGS]  websocketd's command line (wstcp websocketd --help)
wstcp tokens check|list|get|set|rm ...   manage token stores (wstcp tokens --help)
wstcp cert ...                          make a self-signed certificate (wstcp cert --help)
wstcp connect [options] URL             stdin/stdout through a WebSocket, e.g. for ssh (--help)
wstcp forward [options] [HOST:]PORT URL  local listener, one WebSocket per connection (--help)

Bridges WebSocket clients (noVNC, browser terminals) to TCP or unix socket targets, or to programs.
Without a listen host, wstcp listens on every IPv6 and IPv4 address.`;

/** Examples as an epilog: yargs' example column would wrap commands in the middle. */
const EXAMPLES = `Examples:
  wstcp --novnc 127.0.0.1:6080 localhost:5900
      the built-in viewer on http://127.0.0.1:6080/ for the VNC server on port 5900
  wstcp 6080 localhost:5900
      noVNC (or any WebSocket client) on ws://HOST:6080 -> the VNC server on port 5900
  wstcp --tokens file:tokens.conf --novnc 6080
      route by ?token= with a websockify token file (check it: wstcp tokens check tokens.conf)
  wstcp --cert cert.pem --key key.pem --ssl-only 443 localhost:5900
      wss:// only, on port 443
  wstcp --unix-listen /run/wstcp/wstcp.sock --unix-listen-mode 660 localhost:5900
      behind nginx (docs/operations.md)
  wstcp --channels 8080
      Nchan-style channels: POST /pub/ID, subscribe at /sub/ID (WebSocket, EventSource)

Documentation: README.md and docs/ (docs/websockify.md lists every flag).`;

/** The options in the order of their help groups, so that yargs prints the common ones first. */
const orderedSpecs = Object.fromEntries(
  Object.entries(optionSpecs).sort(
    ([, a], [, b]) => groupRank((a as { group?: string }).group) - groupRank((b as { group?: string }).group),
  ),
) as typeof optionSpecs;

function groupRank(group: string | undefined): number {
  const rank = group === undefined ? -1 : HELP_GROUP_ORDER.indexOf(group);
  return rank < 0 ? HELP_GROUP_ORDER.length : rank;
}

/** Parses the command line into a Config; throws ConfigError with a one-line message. */
export function parseArgs(argv: readonly string[]): Config {
  checkArgv(argv, optionSpecs);
  const parser = yargs([...argv])
    .scriptName('wstcp')
    .usage(USAGE)
    .options(orderedSpecs)
    .parserConfiguration({ 'populate--': true, 'short-option-groups': false })
    .strictOptions()
    .help('help')
    .alias('help', 'h')
    .version('version', 'Show the version', packageVersion())
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(true)
    .fail((message, err) => {
      throw err instanceof ConfigError ? err : new UsageError(message ?? err?.message ?? 'invalid arguments');
    })
    .epilog(EXAMPLES);
  const raw = parser.parseSync() as unknown as RawOptions;
  try {
    return buildConfig(raw);
  } catch (err) {
    // buildConfig reads no file: whatever it refuses is a mistake in the command line itself.
    throw err instanceof ConfigError && !(err instanceof UsageError) ? new UsageError(err.message) : err;
  }
}

/** Runs wstcp with `argv` (without the node and script paths) until a signal or --run-once ends it. */
export async function main(given: readonly string[] = process.argv.slice(2)): Promise<void> {
  // websocketd's own command line, for its users: translated once, then wstcp's as usual.
  const argv = given[0] === 'websocketd' ? await websocketdArgs(given.slice(1)) : given;
  // Subcommands load their modules (token stores, node-forge) only when they run.
  if (argv[0] === 'tokens') {
    const { tokensCommand } = await import('./tokens/cli.js');
    process.exit(await tokensCommand(argv.slice(1)));
  }
  if (argv[0] === 'connect' || argv[0] === 'forward') {
    const { clientCommand } = await import('./client/cli.js');
    process.exit(await clientCommand(argv[0], argv.slice(1)));
  }
  if (argv[0] === 'cert') {
    try {
      const { runCertCommand } = await import('./tls/cert-cli.js');
      runCertCommand(argv.slice(1));
    } catch (err) {
      // Its messages begin with "wstcp cert:" already and point to `wstcp cert --help`.
      process.stderr.write(
        `${err instanceof WstcpError ? err.message : `wstcp cert: ${describeError(err)}`}\n`,
      );
      process.exit(err instanceof ConfigError ? 2 : 1);
    }
    return;
  }
  let config: Config;
  try {
    config = parseArgs(argv);
  } catch (err) {
    exitWithError(err, 2);
  }
  const activation = activatedSockets(process.env, process.pid);
  if (activation) {
    // systemd socket activation: the sockets are already bound (and survive restarts of this process).
    forgetActivation(process.env);
    try {
      config = withActivatedSockets(config, activation.main, activation.metrics);
    } catch (err) {
      exitWithError(err, 2);
    }
  }
  if (config.daemon && !isDaemonChild()) await runDetached(argv);
  let log: Logger;
  try {
    const forward = config.syslog ? openSyslog(config.syslog, config.daemon ? 'daemon' : 'user') : undefined;
    log = new Logger({ ...config.log, forward });
  } catch (err) {
    exitWithError(err, 2);
  }
  const notifier = new SystemdNotifier(process.env.NOTIFY_SOCKET, undefined, (err) =>
    log.warn('systemd.notify_failed', { error: describeError(err) }),
  );
  delete process.env.NOTIFY_SOCKET;
  if (isWorkersPrimary(config)) await superviseWorkers(config, log, notifier);
  // Under --workers, feeds run in one worker only: every worker publishing them would repeat each message.
  if (config.channels && (workerSlot() ?? 0) > 0)
    config = { ...config, channels: { ...config.channels, feeds: [] } };
  // A signal while starting (feeds and their programs, spawners, a Redis connection) stops the bridge once
  // it has started, the graceful way; a second one exits at once.
  let earlySignal: NodeJS.Signals | undefined;
  const onEarlySignal = (signal: NodeJS.Signals) => {
    if (earlySignal) process.exit(130);
    earlySignal = signal;
  };
  process.on('SIGINT', onEarlySignal);
  process.on('SIGTERM', onEarlySignal);
  let bridge: Bridge;
  let parts: BridgeParts;
  let metricsServer: MetricsServer | undefined;
  try {
    parts = await assembleParts(config, log);
    bridge = await Bridge.start(config, { log, parts });
    if (config.ops.metrics && bridge.metrics && !isWorkerProcess()) {
      metricsServer = await MetricsServer.start(config.ops.metrics, bridge.metrics, bridge.health, log);
    }
  } catch (err) {
    await log.close();
    exitWithError(err, 1);
  }
  log.info('bridge.listening', {
    listen: bridge.listenAddress,
    target: config.target ? formatTarget(config.target) : undefined,
    command: config.command ? (config.command.argv?.join(' ') ?? `--dir ${config.command.dir}`) : undefined,
    tokens: config.tokens ? config.tokens.plugin : undefined,
    channels: config.channels ? `${config.channels.pubPath}/ID ${config.channels.subPath}/ID` : undefined,
    tls: config.tls ? (config.tls.sslOnly ? 'only' : 'optional') : undefined,
  });
  if (isDaemonChild()) {
    log.info('daemon.detached', { pid: process.pid });
    reportToParent();
  }

  for (const warning of config.warnings) log.warn('config.warning', { message: warning });
  // With --workers the primary says it once, for all of them.
  const exposed = isWorkerProcess() ? undefined : exposureWarning(config);
  if (exposed) log.warn('bridge.exposed', { message: exposed });
  void notifier.notify('READY=1', `STATUS=listening on ${bridge.listenAddress}`);
  const viewer = viewerUrl(config, bridge.port);
  if (viewer) log.info('bridge.viewer', { url: viewer });

  let stopping = false;
  let primary: PrimaryLink | undefined;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info('bridge.stopping', { reason: why, sessions: bridge.sessions.size });
    // Awaited before exiting: queued behind READY=1, it would otherwise die with the process.
    const stoppingNoticed = notifier.notify('STOPPING=1', `STATUS=stopping (${why})`);
    const drainMs = config.ops.drainTimeoutMs;
    if (drainMs > 0 && !DONE_REASONS.has(why)) {
      log.info('bridge.draining', { sessions: bridge.sessions.size, seconds: drainMs / 1000 });
      const left = await bridge.drain(drainMs);
      log.info('bridge.drained', { sessions: left, closing: left > 0 ? 1001 : undefined });
    }
    await bridge.close();
    await metricsServer?.close();
    log.info('bridge.stopped', { ...bridge.stats });
    await primary?.flush();
    await stoppingNoticed;
    await log.close();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.removeListener(signal, onEarlySignal);
    process.on(signal, () => {
      // A second signal while closing gracefully means "now".
      if (stopping) process.exit(130);
      void stop(signal);
    });
  }
  bridge.on('done', (reason: string) => void stop(reason));
  if (earlySignal) void stop(earlySignal);
  if (isWorkerProcess()) {
    primary = attachToPrimary(bridge, (why) => void stop(why));
    if (bridge.metrics) (await import('./observe/worker-metrics.js')).serveMetricsToPrimary(bridge.metrics);
  }
  const tls = parts.tls;
  // SIGHUP reloads the certificate and key (certbot deploy hooks send it). It is handled even without TLS:
  // `systemctl reload` or a --workers primary passing it on must not kill the bridge and its sessions.
  process.on('SIGHUP', () => {
    if (tls?.reload) tls.reload();
    else log.info('bridge.reload', { result: 'nothing to reload without --cert' });
  });
  // SIGUSR1 reopens --log-file after logrotate moved it (docs/operations.md has the logrotate snippet).
  process.on('SIGUSR1', () => log.reopen());
}

/** Reasons the bridge gives itself for stopping: they do not wait for a drain (--drain-timeout is for signals). */
const DONE_REASONS: ReadonlySet<string> = new Set(['run-once', 'timeout', 'idle-timeout']);

/** The config with systemd's sockets in place of the addresses given on the command line. */
function withActivatedSockets(config: Config, main: number | undefined, metrics: number | undefined): Config {
  if (config.workers !== undefined)
    throw new ConfigError('--workers cannot be combined with systemd socket activation (LISTEN_FDS)');
  return Object.freeze({
    ...config,
    listen: main === undefined ? config.listen : { kind: 'fd' as const, fd: main },
    ops:
      metrics === undefined
        ? config.ops
        : Object.freeze({ ...config.ops, metrics: { kind: 'fd' as const, fd: metrics } }),
  });
}

/** `wstcp websocketd ...`: websocketd's command line as wstcp's (exits for --help and bad flags). */
async function websocketdArgs(argv: readonly string[]): Promise<readonly string[]> {
  const { translateWebsocketd, WEBSOCKETD_USAGE } = await import('./targets/command/websocketd-args.js');
  try {
    const command = translateWebsocketd(argv);
    if (command.kind === 'run') return command.args;
    process.stdout.write(WEBSOCKETD_USAGE);
    process.exit(0);
  } catch (err) {
    exitWithError(err, 2);
  }
}

/** --workers: this process only supervises; each worker runs main() itself (see workers.ts). */
async function superviseWorkers(config: Config, log: Logger, notifier: SystemdNotifier): Promise<never> {
  try {
    checkWorkersConfig(config);
  } catch (err) {
    await log.close();
    exitWithError(err, 2);
  }
  // The workers drain on their own (each runs the same --drain-timeout): the grace period covers it.
  const shutdownGraceMs = config.ops.drainTimeoutMs + 10_000;
  // The workers' connection limits are counted here, for all of them (admission/primary-slots.ts).
  const { limits } = config;
  const keeper =
    limits.store === undefined &&
    (limits.maxConnections !== undefined ||
      limits.maxConnectionsPerIp !== undefined ||
      limits.maxConnectionsPerToken !== undefined)
      ? new (await import('./admission/primary-slots.js')).SlotKeeper()
      : undefined;
  const pool = WorkerPool.start({ count: workerCount(config.workers!), log, shutdownGraceMs });
  // The primary serves the workers' summed metrics and the pool's health (observe/worker-metrics.ts).
  const health = new Health();
  const summed = config.ops.metrics
    ? new (await import('./observe/worker-metrics.js')).WorkerMetrics()
    : undefined;
  let metricsServer: MetricsServer | undefined;
  const { default: cluster } = await import('node:cluster');
  cluster.once('listening', (_worker, address) => {
    health.markListening();
    void notifier.notify('READY=1', `STATUS=listening on port ${address.port} (--workers)`);
  });
  if (config.ops.metrics && summed) {
    try {
      metricsServer = await MetricsServer.start(config.ops.metrics, summed, health, log);
    } catch (err) {
      await pool.shutdown('the metrics listener failed');
      await log.close();
      exitWithError(err, 1);
    }
  }
  let stoppingNoticed: Promise<void> = Promise.resolve();
  const exposed = exposureWarning(config);
  if (exposed) log.warn('bridge.exposed', { message: exposed });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (pool.isStopping) process.exit(130);
      health.markDraining();
      stoppingNoticed = notifier.notify('STOPPING=1', `STATUS=stopping (${signal})`);
      void pool.shutdown(signal);
    });
  }
  process.on('SIGHUP', () => pool.forward('SIGHUP'));
  process.on('SIGUSR1', () => {
    log.reopen();
    pool.forward('SIGUSR1');
  });
  const code = await pool.done;
  summed?.close();
  keeper?.close();
  await metricsServer?.close();
  await stoppingNoticed;
  await log.close();
  process.exit(code);
}

/** --daemon: this process only waits until its detached copy listens (see daemon.ts), then exits. */
async function runDetached(argv: readonly string[]): Promise<never> {
  const result = await detach(process.argv[1]!, argv);
  if (result.error !== undefined) process.stderr.write(`wstcp: ${result.error}\n`);
  process.exit(result.code);
}

/**
 * One line on stderr, then exit: 2 for every bad flag, flag value or configuration file (a ConfigError,
 * whenever it is found), `code` for anything else. "Try --help" follows only mistakes in the command line
 * itself: it does not help with a missing file or a port in use.
 */
function exitWithError(err: unknown, code: number): never {
  const message = err instanceof WstcpError ? err.message : describeError(err);
  reportToParent(message, err instanceof ConfigError ? 2 : 1);
  process.stderr.write(`wstcp: ${message}\n`);
  if (err instanceof UsageError) process.stderr.write(`Try 'wstcp --help' for the options.\n`);
  process.exit(err instanceof ConfigError ? 2 : code);
}
