/**
 * Channels in real Chromium: a page's EventSource and WebSocket subscribers, and Nchan's own client
 * (NchanSubscriber from the npm `nchan` package) over WebSocket, EventSource and long-poll, receiving
 * what Node publishes, with the message ids the browser sees.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, type TestContext, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPage } from '../helpers/browser.js';
import { type ChannelServer, publish, startChannelServer } from '../helpers/channels.js';
import { requireProgram } from '../helpers/programs.js';

let browser: Browser | undefined;
let server: ChannelServer;

/** NchanSubscriber.js from node_modules, or undefined when the package is not installed. */
function nchanClient(): string | undefined {
  try {
    return readFileSync(createRequire(import.meta.url).resolve('nchan'), 'utf8');
  } catch {
    return undefined;
  }
}

before(async () => {
  const client = nchanClient();
  server = await startChannelServer({
    files: {
      '/': { type: 'text/html', body: '<!doctype html><title>channels</title>' },
      ...(client ? { '/nchan.js': { type: 'text/javascript', body: client } } : {}),
    },
  });
});
after(async () => {
  await browser?.close();
  await server.close();
});

async function page(t: TestContext): Promise<Page | undefined> {
  if (!requireProgram(t, '/usr/bin/chromium', 'chromium')) return undefined;
  browser ??= await launchBrowser();
  const p = await openPage(browser);
  t.after(() => p.context().close());
  await p.goto(`http://${server.base}/`);
  return p;
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a browser's EventSource gets the buffered and the live messages, with Nchan ids and events", async (t) => {
  const p = await page(t);
  if (!p) return;
  await publish(server.base, 'es', 'buffered');
  await p.evaluate(() => {
    const w = window as unknown as { got: string[]; source: EventSource };
    w.got = [];
    w.source = new EventSource('/sub/es');
    w.source.onmessage = (e) => w.got.push(`message|${e.lastEventId}|${e.data}`);
    w.source.addEventListener('alert', (e) =>
      w.got.push(`alert|${(e as MessageEvent).lastEventId}|${(e as MessageEvent).data}`),
    );
  });
  await until(
    () => p.evaluate(() => (window as unknown as { got: string[] }).got.length),
    (n) => n >= 1,
  );
  await publish(server.base, 'es', 'two\nlines', { 'X-EventSource-Event': 'alert' });
  const got = await until(
    () => p.evaluate(() => (window as unknown as { got: string[] }).got),
    (g) => g.length >= 2,
  );
  assert.match(got[0] ?? '', /^message\|\d+:0\|buffered$/);
  assert.match(got[1] ?? '', /^alert\|\d+:\d+\|two\nlines$/);
});

test("a browser's WebSocket gets text and binary frames", async (t) => {
  const p = await page(t);
  if (!p) return;
  await p.evaluate((base) => {
    const w = window as unknown as { got: string[]; ws: WebSocket };
    w.got = [];
    w.ws = new WebSocket(`ws://${base}/sub/ws`);
    w.ws.binaryType = 'arraybuffer';
    w.ws.onmessage = (e) =>
      w.got.push(
        typeof e.data === 'string' ? `text:${e.data}` : `binary:${new Uint8Array(e.data).join(',')}`,
      );
    return new Promise((resolve) => {
      w.ws.onopen = resolve;
    });
  }, server.base);
  await publish(server.base, 'ws', 'hello');
  await publish(server.base, 'ws', Buffer.from([1, 2, 3]), { 'Content-Type': 'application/octet-stream' });
  const got = await until(
    () => p.evaluate(() => (window as unknown as { got: string[] }).got),
    (g) => g.length >= 2,
  );
  assert.deepEqual(got, ['text:hello', 'binary:1,2,3']);
});

for (const transport of ['websocket', 'eventsource', 'longpoll'] as const) {
  test(`NchanSubscriber (npm nchan) over ${transport} receives messages with their ids`, async (t) => {
    if (!nchanClient()) {
      if (process.env.CI === 'true') throw new Error('CI=true and the npm package nchan is not installed');
      t.skip('SKIPPED: the npm package nchan is not installed (npm install)');
      return;
    }
    const p = await page(t);
    if (!p) return;
    const channel = `nchan-${transport}`;
    await p.addScriptTag({ url: '/nchan.js' });
    await p.evaluate(
      ([channel, transport]) => {
        const w = window as unknown as {
          got: string[];
          sub: { on(e: string, f: (...a: unknown[]) => void): void; start(): void };
          NchanSubscriber: new (url: string, opt: object) => typeof w.sub;
        };
        w.got = [];
        w.sub = new w.NchanSubscriber(`/sub/${channel}`, { subscriber: transport, reconnect: 'session' });
        w.sub.on('message', (message, meta) => w.got.push(`${(meta as { id?: string }).id}|${message}`));
        w.sub.start();
      },
      [channel, transport],
    );
    // The client connects asynchronously: publish until the first message is seen, then one more.
    await until(
      async () => {
        await publish(server.base, channel, 'first');
        return p.evaluate(() => (window as unknown as { got: string[] }).got.length);
      },
      (n) => n >= 1,
    );
    await publish(server.base, channel, 'second');
    const got = await until(
      () => p.evaluate(() => (window as unknown as { got: string[] }).got),
      (g) => g.some((m) => m.endsWith('|second')),
    );
    const last = got[got.length - 1] ?? '';
    assert.match(last, /^\d+:\d+\|second$/);
  });
}
