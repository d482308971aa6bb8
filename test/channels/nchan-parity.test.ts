/**
 * wstcp's channels against the real Nchan: each scenario runs against both, and what Nchan's users rely
 * on must come out the same: statuses, channel-info fields, EventSource framing, long-poll headers,
 * replay from a message id, buffer eviction and DELETE. Message ids (clock-based) are compared by shape.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { type RunningBridge, startBridge } from '../helpers/bridge.js';
import { EventStream, infoFields, publish, send, WsStream } from '../helpers/channels.js';
import { launchNchan, NCHAN_MODULE, type NchanPeer } from '../helpers/nchan.js';
import { findProgram } from '../helpers/programs.js';

const ID = /^\d{10}:\d+$/;
let nchan: NchanPeer | undefined;
/** The real wstcp: `wstcp --channels 127.0.0.1:0`, through the command line and the front door. */
let wstcp: RunningBridge;
let wstcpBase: string;
let counter = 0;

before(async () => {
  wstcp = await startBridge(['--channels', '127.0.0.1:0']);
  wstcpBase = `127.0.0.1:${wstcp.port}`;
  const nginx = findProgram('nginx');
  if (nginx && existsSync(NCHAN_MODULE)) nchan = await launchNchan(nginx);
  else if (process.env.CI === 'true')
    throw new Error('CI=true and nginx with libnginx-mod-nchan is not installed');
});
after(async () => {
  await wstcp?.close();
  await nchan?.close();
});

/** Runs `scenario` against both peers (each on a fresh channel name) and returns both results. */
async function both<T>(
  t: { skip(message: string): void },
  scenario: (base: string, channel: string) => Promise<T>,
): Promise<{ wstcp: T; nchan: T } | undefined> {
  if (!nchan) {
    t.skip('SKIPPED: nginx with libnginx-mod-nchan is not installed');
    return undefined;
  }
  counter++;
  const [ours, theirs] = await Promise.all([
    scenario(wstcpBase, `c${counter}-${process.pid}`),
    scenario(nchan.base, `c${counter}-${process.pid}`),
  ]);
  return { wstcp: ours, nchan: theirs };
}

/** Ids replaced by their shape, so that two servers' clocks do not matter. */
function shape(text: string): string {
  return text.replace(/\d{10}:\d+/g, 'TIME:TAG').replace(/-1 sec|\d+ sec/g, 'N sec');
}

test('an unknown channel: GET and DELETE answer 404', async (t) => {
  const r = await both(t, async (base, channel) => ({
    get: (await send(base, 'GET', `/pub/${channel}`)).status,
    del: (await send(base, 'DELETE', `/pub/${channel}`)).status,
  }));
  if (!r) return;
  assert.deepEqual(r.wstcp, r.nchan);
  assert.deepEqual(r.wstcp, { get: 404, del: 404 });
});

test('publishing without subscribers: 202 and the channel info in text, JSON and XML', async (t) => {
  const r = await both(t, async (base, channel) => {
    const first = await publish(base, channel, 'hello');
    const json = await publish(base, channel, 'two', { Accept: 'text/json' });
    const xml = await send(base, 'GET', `/pub/${channel}`, undefined, { Accept: 'text/xml' });
    const appJson = await send(base, 'GET', `/pub/${channel}`, undefined, { Accept: 'application/json' });
    return {
      statuses: [first.status, json.status, xml.status, appJson.status],
      types: [first, json, xml, appJson].map((a) => a.headers['content-type']),
      text: infoFields(first.text),
      id: infoFields(first.text)['last message id'],
      json: JSON.parse(json.text) as Record<string, unknown>,
      xml: shape(xml.text),
    };
  });
  if (!r) return;
  for (const side of [r.wstcp, r.nchan]) {
    assert.match(side.id ?? '', ID);
    assert.match(String(side.json.last_message_id), ID);
    side.id = 'ID';
    side.text['last message id'] = 'ID';
    side.json.last_message_id = 'ID';
  }
  assert.deepEqual(r.wstcp, r.nchan);
  assert.deepEqual(r.wstcp.statuses, [202, 202, 200, 200]);
  assert.deepEqual(r.wstcp.json, { messages: 2, requested: -1, subscribers: 0, last_message_id: 'ID' });
});

test('publishing to a channel with a subscriber: 201, and EventSource framing is the same', async (t) => {
  const r = await both(t, async (base, channel) => {
    const stream = new EventStream(base, `/sub/${channel}`);
    await stream.waitForOpen();
    const one = await publish(base, channel, 'line1\nline2');
    await publish(base, channel, '{"a":1}', {
      'X-EventSource-Event': 'ping',
      'Content-Type': 'application/json',
    });
    await stream.waitFor(2);
    stream.close();
    return {
      status: one.status,
      subscribers: infoFields(one.text)['active subscribers'],
      contentType: stream.headers['content-type'],
      raw: shape(stream.raw),
      events: stream.events.map((e) => ({ ...e, id: e.id?.replace(/^\d+/, 'T') })),
    };
  });
  if (!r) return;
  assert.deepEqual(r.wstcp, r.nchan);
  assert.equal(r.wstcp.status, 201);
  assert.equal(
    r.wstcp.raw,
    ': hi\n\nid: TIME:TAG\ndata: line1\ndata: line2\n\nevent: ping\nid: TIME:TAG\ndata: {"a":1}\n\n',
  );
});

test('EventSource replay from Last-Event-ID and ?last_event_id=', async (t) => {
  const r = await both(t, async (base, channel) => {
    for (const m of ['a', 'b', 'c']) await publish(base, channel, m);
    const all = new EventStream(base, `/sub/${channel}`);
    const events = await all.waitFor(3);
    all.close();
    const fromHeader = new EventStream(base, `/sub/${channel}`, { 'Last-Event-ID': events[0]?.id ?? '' });
    await fromHeader.waitFor(2);
    const fromQuery = new EventStream(
      base,
      `/sub/${channel}?last_event_id=${encodeURIComponent(events[1]?.id ?? '')}`,
    );
    await fromQuery.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    fromHeader.close();
    fromQuery.close();
    return {
      all: events.map((e) => e.data),
      header: fromHeader.events.map((e) => e.data),
      query: fromQuery.events.map((e) => e.data),
    };
  });
  if (!r) return;
  assert.deepEqual(r.wstcp, r.nchan);
  assert.deepEqual(r.wstcp, { all: ['a', 'b', 'c'], header: ['b', 'c'], query: ['c'] });
});

test('buffer eviction: after 12 publishes a new subscriber gets the last 10', async (t) => {
  const r = await both(t, async (base, channel) => {
    for (let i = 1; i <= 12; i++) await publish(base, channel, `m${i}`);
    const info = infoFields((await send(base, 'GET', `/pub/${channel}`)).text);
    const stream = new EventStream(base, `/sub/${channel}`);
    await stream.waitFor(10);
    await new Promise((resolve) => setTimeout(resolve, 100));
    stream.close();
    return { queued: info['queued messages'], data: stream.events.map((e) => e.data) };
  });
  if (!r) return;
  assert.deepEqual(r.wstcp, r.nchan);
  assert.equal(r.wstcp.queued, '10');
  assert.deepEqual(r.wstcp.data, ['m3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10', 'm11', 'm12']);
});

test('long-poll walks the queue with Last-Modified/Etag and If-Modified-Since/If-None-Match', async (t) => {
  const r = await both(t, async (base, channel) => {
    await publish(base, channel, 'one', { 'Content-Type': 'text/x-one' });
    await publish(base, channel, 'two', { 'Content-Type': 'text/x-two' });
    const first = await send(base, 'GET', `/sub/${channel}`);
    const second = await send(base, 'GET', `/sub/${channel}`, undefined, {
      'If-Modified-Since': String(first.headers['last-modified']),
      'If-None-Match': String(first.headers.etag),
    });
    // The third waits for a message that is not published yet.
    const waiting = send(base, 'GET', `/sub/${channel}`, undefined, {
      'If-Modified-Since': String(second.headers['last-modified']),
      'If-None-Match': String(second.headers.etag),
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await publish(base, channel, 'three');
    const third = await waiting;
    const view = (a: typeof first) => ({
      status: a.status,
      body: a.text,
      type: a.headers['content-type'],
      etag: a.headers.etag,
      vary: a.headers.vary,
      lastModified: /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/.test(String(a.headers['last-modified'])),
    });
    return [view(first), view(second), { ...view(third), type: undefined }];
  });
  if (!r) return;
  // Tags depend on the second each message fell in; both count from 0 within a second.
  for (const side of [r.wstcp, r.nchan])
    for (const a of side) a.etag = /^\d+$/.test(String(a.etag)) ? 'TAG' : a.etag;
  assert.deepEqual(r.wstcp, r.nchan);
  assert.deepEqual(
    r.wstcp.map((a) => a.body),
    ['one', 'two', 'three'],
  );
});

test('DELETE: 200 with the info before, WebSocket subscribers get 1001 "410 Gone", GET then shows 0 messages', async (t) => {
  const r = await both(t, async (base, channel) => {
    await publish(base, channel, 'kept');
    const ws = new WsStream(`ws://${base}/sub/${channel}`);
    await ws.opened;
    await ws.waitFor(1);
    const del = await send(base, 'DELETE', `/pub/${channel}`);
    const code = await ws.waitForClose();
    const afterDelete = await send(base, 'GET', `/pub/${channel}`);
    return {
      status: del.status,
      before: { ...infoFields(del.text), 'last message id': 'ID', 'last requested': 'N' },
      code,
      reason: ws.closeReason,
      afterStatus: afterDelete.status,
      afterQueued: infoFields(afterDelete.text)['queued messages'],
    };
  });
  if (!r) return;
  assert.deepEqual(r.wstcp, r.nchan);
  assert.equal(r.wstcp.code, 1001);
  assert.equal(r.wstcp.reason, '410 Gone');
});

test('WebSocket subscribers: text frames, binary for application/octet-stream', async (t) => {
  const r = await both(t, async (base, channel) => {
    const ws = new WsStream(`ws://${base}/sub/${channel}`);
    await ws.opened;
    await publish(base, channel, 'text');
    await publish(base, channel, Buffer.from([0, 1, 2, 255]), { 'Content-Type': 'application/octet-stream' });
    const got = await ws.waitFor(2);
    ws.close();
    return got.map((m) => ({ binary: m.binary, data: m.data.toString('hex') }));
  });
  if (!r) return;
  assert.deepEqual(r.wstcp, r.nchan);
  assert.deepEqual(r.wstcp, [
    { binary: false, data: Buffer.from('text').toString('hex') },
    { binary: true, data: '000102ff' },
  ]);
});

test('a WebSocket publisher gets the channel info after each message', async (t) => {
  const r = await both(t, async (base, channel) => {
    const ws = new WsStream(`ws://${base}/pub/${channel}`);
    await ws.opened;
    ws.ws.send('a');
    ws.ws.send('b');
    const replies = await ws.waitFor(2);
    ws.close();
    const stream = new EventStream(base, `/sub/${channel}`);
    await stream.waitFor(2);
    stream.close();
    return {
      replies: replies.map((m) => infoFields(m.data.toString())['queued messages']),
      data: stream.events.map((e) => e.data),
    };
  });
  if (!r) return;
  assert.deepEqual(r.wstcp, r.nchan);
  assert.deepEqual(r.wstcp, { replies: ['1', '2'], data: ['a', 'b'] });
});

test('multiplexed /sub/a,b delivers both channels in publish order', async (t) => {
  const r = await both(t, async (base, channel) => {
    await publish(base, `${channel}x`, 'one');
    await publish(base, `${channel}y`, 'two');
    const stream = new EventStream(base, `/sub/${channel}x,${channel}y`);
    await stream.waitFor(2);
    await publish(base, `${channel}x`, 'three');
    await stream.waitFor(3);
    stream.close();
    return stream.events.map((e) => e.data);
  });
  if (!r) return;
  assert.deepEqual(r.wstcp, r.nchan);
  assert.deepEqual(r.wstcp, ['one', 'two', 'three']);
});

test('CORS: subscribers with an Origin get it echoed, long-poll exposes its headers, OPTIONS is a preflight', async (t) => {
  const r = await both(t, async (base, channel) => {
    await publish(base, channel, 'x');
    const origin = { Origin: 'http://page.test' };
    const poll = await send(base, 'GET', `/sub/${channel}`, undefined, origin);
    const stream = new EventStream(base, `/sub/${channel}`, origin);
    await stream.waitFor(1);
    stream.close();
    const preflight = await send(base, 'OPTIONS', `/sub/${channel}`, undefined, origin);
    const pick = (h: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('access-control-') || k === 'allow'));
    return {
      poll: pick(poll.headers),
      stream: pick(stream.headers),
      preflight: { status: preflight.status, ...pick(preflight.headers) },
    };
  });
  if (!r) return;
  assert.deepEqual(r.wstcp, r.nchan);
  assert.equal(r.wstcp.poll['access-control-allow-origin'], 'http://page.test');
});

// nginx matches locations on the normalized path: slashes merged, dot segments resolved. A publisher
// whose URL is joined sloppily (`/pub//alerts`) must reach the channel its subscribers are on.
test('paths as nginx reads them: merged slashes and dot segments reach the same channel', async (t) => {
  const r = await both(t, async (base, channel) => ({
    merged: (await send(base, 'POST', `/pub//${channel}`, 'one')).status,
    dotted: (await send(base, 'POST', `/sub/../pub/${channel}`, 'two')).status,
    both: (await send(base, 'POST', `/x/..//pub///${channel}`, 'three')).status,
    info: infoFields((await send(base, 'GET', `/pub/${channel}`)).text)['queued messages'],
    mergedInfo: (await send(base, 'GET', `//pub//${channel}`)).status,
  }));
  if (!r) return;
  assert.deepEqual(r.wstcp, r.nchan);
  assert.deepEqual(r.wstcp, { merged: 202, dotted: 202, both: 202, info: '3', mergedInfo: 200 });
});
