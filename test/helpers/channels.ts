/**
 * Channel test fixtures: a ChannelService on an HTTP server on 127.0.0.1:0, and clients that speak to
 * wstcp and Nchan alike: publish over HTTP, an EventSource reader on a raw response, WebSocket
 * subscribers, and long-polls; and messages made up for the parts that take them.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { parseRequestUrl } from '../../src/admission/request-url.js';
import { MemoryChannelStore } from '../../src/channels/memory-store.js';
import type { ChannelMessage } from '../../src/channels/message.js';
import { type MessageId, nextMessageId } from '../../src/channels/message-id.js';
import { ChannelService, type ChannelServiceOptions } from '../../src/channels/service.js';
import type { ChannelStore } from '../../src/channels/store.js';
import { Logger } from '../../src/observe/log.js';

export interface ChannelServer {
  readonly port: number;
  readonly base: string;
  readonly service: ChannelService;
  readonly logs: string[];
  close(): Promise<void>;
}

export type ServiceOverrides = Partial<Omit<ChannelServiceOptions, 'log' | 'store'>> & {
  store?: (log: Logger) => ChannelStore | Promise<ChannelStore>;
  bufferLength?: number;
  ttlMs?: number;
  maxChannels?: number;
  maxBytes?: number;
  /** Plain files served on other paths (a test page, a client library), by path. */
  files?: Record<string, { type: string; body: string | Buffer }>;
};

/** A ChannelService with wstcp's defaults (buffer 10, ttl 1 h, /pub and /sub) on a loopback port. */
export async function startChannelServer(overrides: ServiceOverrides = {}): Promise<ChannelServer> {
  const logs: string[] = [];
  const log = new Logger({ level: 'debug', format: 'json', sink: (line) => logs.push(line) });
  const maxBytes = overrides.maxBytes ?? 4 * 1024 * 1024;
  const store =
    (await overrides.store?.(log)) ??
    new MemoryChannelStore({
      maxMessages: overrides.bufferLength ?? 10,
      ttlMs: overrides.ttlMs ?? 3_600_000,
      maxBytes,
      maxChannels: overrides.maxChannels ?? 100_000,
      log,
    });
  const {
    store: _store,
    bufferLength: _bufferLength,
    ttlMs: _ttlMs,
    maxChannels: _maxChannels,
    maxBytes: _maxBytes,
    files = {},
    ...serviceOverrides
  } = overrides;
  const service = new ChannelService({
    log,
    pubPath: '/pub',
    subPath: '/sub',
    first: 'oldest',
    limits: { queueBytes: 1024 * 1024, slow: 'close', noDelay: false },
    policy: { allow: undefined, credentials: undefined },
    maxMessageBytes: maxBytes,
    ...serviceOverrides,
    store,
  });
  // Routed as the front door does: on the parsed path (front/request-url.ts).
  const pathOf = (req: IncomingMessage) => parseRequestUrl(req.url)?.pathname ?? '/';
  const server: Server = createServer((req, res) => {
    const path = pathOf(req);
    const file = files[path];
    if (service.matches(path)) service.request(req, res, path);
    else if (file) res.writeHead(200, { 'Content-Type': file.type }).end(file.body);
    else res.writeHead(404).end();
  });
  server.on('upgrade', (req, socket, head) => {
    const path = pathOf(req);
    if (service.matches(path)) service.upgrade(req, socket, head, path);
    else socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    base: `127.0.0.1:${port}`,
    service,
    logs,
    close: async () => {
      await service.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Log events (JSON lines) named `event`. */
export function logEvents(logs: readonly string[], event: string): Record<string, unknown>[] {
  return logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((e) => e.event === event);
}

export interface Answer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  readonly text: string;
}

/** One HTTP request to `base` (host:port) with an optional body. */
export function send(
  base: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const [host, port] = base.split(':');
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const data = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data, text: data.toString() });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function publish(
  base: string,
  channel: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return send(base, 'POST', `/pub/${channel}`, body, headers);
}

export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string | undefined;
  readonly data: string;
}

/** An EventSource stream read raw: the events parsed as they come, and the exact text received. */
export class EventStream {
  readonly events: SseEvent[] = [];
  raw = '';
  status = 0;
  headers: IncomingMessage['headers'] = {};
  ended = false;
  private readonly waiters: (() => void)[] = [];
  private readonly req: ReturnType<typeof request>;

  constructor(base: string, path: string, headers: Record<string, string> = {}) {
    const [host, port] = base.split(':');
    this.req = request(
      { host, port: Number(port), path, headers: { Accept: 'text/event-stream', ...headers }, agent: false },
      (res) => {
        this.status = res.statusCode ?? 0;
        this.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.onData(chunk));
        res.on('end', () => this.onEnd());
        res.on('error', () => this.onEnd());
        this.wake();
      },
    );
    this.req.on('error', () => this.onEnd());
    this.req.end();
  }

  /** Resolves once `count` events arrived (rejects after `timeoutMs`). */
  async waitFor(count: number, timeoutMs = 5000): Promise<SseEvent[]> {
    await this.until(() => this.events.length >= count, timeoutMs, `${count} events`);
    return this.events.slice(0, count);
  }

  async waitForEnd(timeoutMs = 5000): Promise<void> {
    await this.until(() => this.ended, timeoutMs, 'the end of the stream');
  }

  async waitForOpen(timeoutMs = 5000): Promise<void> {
    await this.until(() => this.raw.includes('\n\n'), timeoutMs, 'the stream to open');
  }

  close(): void {
    this.req.destroy();
  }

  private async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.raw)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private onData(chunk: string): void {
    this.raw += chunk;
    const blocks = this.raw.split('\n\n');
    blocks.pop();
    this.events.length = 0;
    for (const block of blocks) {
      const lines = block.split('\n').filter((l) => l !== '' && !l.startsWith(':'));
      if (lines.length === 0) continue;
      let id: string | undefined;
      let event: string | undefined;
      const data: string[] = [];
      for (const line of lines) {
        const colon = line.indexOf(':');
        const field = line.slice(0, colon);
        const value = line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') id = value;
        else if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      this.events.push({ id, event, data: data.join('\n') });
    }
    this.wake();
  }

  private onEnd(): void {
    this.ended = true;
    this.wake();
  }
}

export interface WsMessage {
  readonly data: Buffer;
  readonly binary: boolean;
}

/** A WebSocket subscriber collecting messages and its close code. */
export class WsStream {
  readonly messages: WsMessage[] = [];
  closeCode: number | undefined;
  closeReason = '';
  readonly ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string, protocols?: string | string[], headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, protocols, { headers, perMessageDeflate: false });
    this.ws.on('message', (data, binary) => this.messages.push({ data: data as Buffer, binary }));
    this.ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
      this.ws.once('error', reject);
    });
  }

  async waitFor(count: number, timeoutMs = 5000): Promise<WsMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${count} messages (${this.messages.length})`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.messages.slice(0, count);
  }

  async waitForClose(timeoutMs = 5000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.closeCode === undefined) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the close');
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.closeCode;
  }

  close(): void {
    this.ws.terminate();
  }
}

/** The text lines of Nchan's channel info, with the volatile parts (time, ids) left as they are. */
export function infoFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(': ');
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 2);
  }
  return fields;
}

/** `count` messages of one channel, oldest first (data `m0`, `m1`, ...), with ids as a store makes them. */
export function messagesOf(count: number): ChannelMessage[] {
  const out: ChannelMessage[] = [];
  let id: MessageId | undefined;
  for (let i = 0; i < count; i++) {
    id = nextMessageId(id, 1_700_000_000);
    out.push({ id, data: Buffer.from(`m${i}`), contentType: undefined, event: undefined, publishedAt: i });
  }
  return out;
}
