/**
 * `wstcp forward`: local listeners (TCP on loopback by default, or unix sockets), each opening one
 * WebSocket session to its server per accepted connection, like `ssh -L`. A connection waits, unread,
 * while its session opens; a refused or failed handshake closes it and logs the status and reason.
 */

import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { boundPort } from '../address.js';
import { describeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { dial } from './dial.js';
import { ClientError, ClientErrorCode, ExitCode, HandshakeRefusedError } from './errors.js';
import { socketSide } from './local-side.js';
import type { ClientConfig } from './options.js';
import type { ProxyAddress } from './proxy-choice.js';
import type { ServerUrl } from './server-url.js';
import { ClientSession } from './session.js';

/** Where a forward listens: a TCP address or a unix socket path. */
export type LocalAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

export interface ForwardSpec {
  readonly local: LocalAddress;
  readonly server: ServerUrl;
  readonly proxy: ProxyAddress | undefined;
}

export interface ForwarderOptions {
  readonly config: ClientConfig;
  readonly log: Logger;
  /** File mode of unix socket listeners. */
  readonly unixMode: number;
}

interface Listening {
  readonly spec: ForwardSpec;
  readonly server: Server;
  /** `host:port` or the socket path, for log lines. */
  readonly name: string;
  readonly port: number;
}

/** How long stopping waits for sessions to deliver what they hold before it destroys them. */
const SHUTDOWN_GRACE_MS = 3000;

export class Forwarder {
  private readonly listening: Listening[] = [];
  private readonly sessions = new Set<ClientSession>();
  /** Accepted connections whose session is still opening. */
  private readonly opening = new Set<Socket>();
  private nextId = 1;
  private closing: Promise<void> | undefined;

  private constructor(private readonly options: ForwarderOptions) {}

  /** Binds every forward; on a failure the ones already bound are closed and a ClientError (exit 6) is thrown. */
  static async start(specs: readonly ForwardSpec[], options: ForwarderOptions): Promise<Forwarder> {
    const forwarder = new Forwarder(options);
    try {
      for (const spec of specs) await forwarder.listen(spec);
    } catch (err) {
      await forwarder.close();
      throw err;
    }
    return forwarder;
  }

  /** The bound TCP ports, in the order of the specs (0 for unix sockets). */
  get ports(): number[] {
    return this.listening.map((l) => l.port);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Stops listening, closes every session with 1001 after its pending data, and waits for them. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // A server's close() completes only once its connections have closed: start it, end them, then wait.
      const unbound = this.listening.map(
        (l) => new Promise<void>((resolve) => l.server.close(() => resolve())),
      );
      for (const socket of this.opening) socket.destroy();
      const ended = [...this.sessions].map((s) => s.ended);
      for (const session of this.sessions) session.shutdown();
      const grace = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref());
      await Promise.race([Promise.all([...ended, ...unbound]), grace]);
    })();
    return this.closing;
  }

  private async listen(spec: ForwardSpec): Promise<void> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
    const local = spec.local;
    const name =
      local.kind === 'unix'
        ? local.path
        : `${local.host.includes(':') ? `[${local.host}]` : local.host}:${local.port}`;
    if (local.kind === 'unix') removeStaleSocket(local.path);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'the address is in use' : describeError(err);
        reject(
          new ClientError(ClientErrorCode.LISTEN, ExitCode.LISTEN, `cannot listen on ${name}: ${why}`, {
            cause: err,
          }),
        );
      });
      if (local.kind === 'unix') server.listen(local.path, resolve);
      else server.listen(local.port, local.host, resolve);
    });
    if (local.kind === 'unix') chmodSync(local.path, this.options.unixMode);
    const port = boundPort(server);
    const bound = local.kind === 'unix' ? name : name.replace(/:\d+$/, `:${port}`);
    const entry: Listening = { spec, server, name: bound, port };
    server.on('connection', (socket: Socket) => void this.accept(entry, socket));
    server.on('error', (err) =>
      this.options.log.error('forward.listen_error', { listen: bound, error: describeError(err) }),
    );
    this.listening.push(entry);
    this.options.log.info('forward.listening', {
      listen: bound,
      server: spec.server.display,
      proxy: spec.proxy?.display,
    });
  }

  private async accept(entry: Listening, socket: Socket): Promise<void> {
    const id = this.nextId++;
    const { log, config } = this.options;
    const { server, proxy } = entry.spec;
    const from = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : entry.name;
    const startedAt = Date.now();
    socket.setNoDelay(true);
    // Until the session owns the socket, a reset only needs to be noticed, not reported.
    const early = () => {};
    socket.on('error', early);
    this.opening.add(socket);
    let session: ClientSession;
    try {
      const ws = await dial({ server, config, proxy });
      if (socket.destroyed || this.closing) {
        ws.close(1001, socket.destroyed ? 'local connection gone' : 'client shutting down');
        socket.destroy();
        return;
      }
      session = new ClientSession(ws, socketSide(socket), { heartbeatMs: config.heartbeatMs });
    } catch (err) {
      const refused = err instanceof HandshakeRefusedError;
      log.warn('forward.failed', {
        id,
        from,
        server: server.display,
        code: err instanceof ClientError ? err.code : 'WSTCP_CLIENT_ERROR',
        status: refused ? err.status : undefined,
        message: err instanceof ClientError ? err.message : describeError(err),
      });
      socket.destroy();
      return;
    } finally {
      this.opening.delete(socket);
      socket.off('error', early);
    }
    this.sessions.add(session);
    log.info('forward.open', { id, from, listen: entry.name, server: server.display });
    const end = await session.ended;
    this.sessions.delete(session);
    const fields = {
      id,
      closer: end.closer,
      code: end.code,
      reason: end.reason || undefined,
      up: end.bytesUp,
      down: end.bytesDown,
      dropped: end.bytesDropped || undefined,
      ms: Date.now() - startedAt,
      problem: end.problem,
    };
    if (end.problem) log.warn('forward.close', fields);
    else log.info('forward.close', fields);
  }
}

function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Nothing there: nothing to remove.
  }
}
