/**
 * Test fixtures: an in-process bridge started from CLI arguments, loopback TCP targets, and WebSocket
 * client helpers. Everything listens on port 0 on loopback and is closed by the returned close().
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import WebSocket, { type ClientOptions } from 'ws';
import { Bridge } from '../../src/bridge.js';
import { parseArgs } from '../../src/cli.js';
import { Logger } from '../../src/observe/log.js';

export interface RunningBridge {
  readonly bridge: Bridge;
  readonly port: number;
  /** ws://127.0.0.1:PORT (or wss:// with `{ secure: true }`). */
  readonly url: string;
  /** Every log line the bridge wrote (text format unless --log-format json was given). */
  readonly logs: string[];
  close(): Promise<void>;
}

/**
 * Starts a bridge from command-line arguments, e.g. `startBridge(['127.0.0.1:0', `127.0.0.1:${echo.port}`])`.
 * Logging is at debug level when `-v` is among the args, and is captured in `logs`.
 */
export async function startBridge(
  args: string[],
  options: { secure?: boolean } = {},
): Promise<RunningBridge> {
  const config = parseArgs(args);
  const logs: string[] = [];
  const log = new Logger({
    level: config.log.level,
    format: config.log.format,
    sink: (line) => logs.push(line),
  });
  const bridge = await Bridge.start(config, { log });
  const host = config.listen.kind === 'tcp' && config.listen.host?.includes(':') ? '[::1]' : '127.0.0.1';
  return {
    bridge,
    port: bridge.port,
    url: `${options.secure ? 'wss' : 'ws'}://${host}:${bridge.port}`,
    logs,
    close: () => bridge.close(),
  };
}

export interface TcpTarget {
  readonly server: Server;
  readonly port: number;
  /** Sockets accepted so far (open or closed). */
  readonly sockets: Socket[];
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1:0 running `onSocket` for each connection. */
export async function startTcpServer(
  onSocket: (socket: Socket) => void,
  host = '127.0.0.1',
): Promise<TcpTarget> {
  const sockets: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    onSocket(socket);
  });
  server.listen(0, host);
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    server,
    port,
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An echo target: every byte comes back; EOF is answered with EOF. */
export function startEcho(host = '127.0.0.1'): Promise<TcpTarget> {
  return startTcpServer((socket) => socket.pipe(socket), host);
}

/** Messages a client received that no `receive()` has taken yet (they may arrive with the 101). */
const inboxes = new WeakMap<WebSocket, Buffer[]>();

/**
 * Opens a WebSocket client and waits for the open event (rejects on an HTTP refusal or error).
 * Messages are queued from the first byte on, for `receive()`.
 */
export async function openClient(url: string, protocols?: string | string[], options: ClientOptions = {}) {
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...options });
  ws.binaryType = 'nodebuffer';
  const inbox: Buffer[] = [];
  inboxes.set(ws, inbox);
  ws.on('message', (data: Buffer) => {
    if (ws.listenerCount('message') === 1) inbox.push(data);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`unexpected HTTP ${res.statusCode}`));
      res.resume();
    });
  });
  return ws;
}

export interface Refusal {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Attempts a handshake that is expected to be refused; resolves with the HTTP status, headers and body. */
export function expectRefusal(
  url: string,
  options: ClientOptions = {},
  protocols?: string[],
): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...options });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the handshake was accepted'));
    });
    ws.once('error', (err) => reject(err));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        ws.terminate();
      });
    });
  });
}

/** Resolves with the close code and reason the client receives. */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve({ code: 1006, reason: '' });
  return new Promise((resolve) =>
    ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
  );
}

/** Collects messages until `bytes` bytes have arrived (queued ones first); resolves with their concatenation. */
export function receive(ws: WebSocket, bytes: number, timeoutMs = 10000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks = inboxes.get(ws)?.splice(0) ?? [];
    let got = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    if (got >= bytes) {
      resolve(Buffer.concat(chunks));
      return;
    }
    const timer = setTimeout(() => {
      ws.off('message', onMessage);
      reject(new Error(`received ${got} of ${bytes} bytes in ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (data: Buffer) => {
      chunks.push(data);
      got += data.length;
      if (got >= bytes) {
        clearTimeout(timer);
        ws.off('message', onMessage);
        resolve(Buffer.concat(chunks));
      }
    };
    ws.on('message', onMessage);
  });
}

/** Waits until `predicate` holds, polling every 10 ms, for at most `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
