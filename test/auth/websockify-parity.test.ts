// The websockify auth plugins against the real Python websockify: the same handshakes get the same
// statuses and challenge from both (websockify users keep their --auth-plugin command lines).
import assert from 'node:assert/strict';
import { after, type TestContext, test } from 'node:test';
import WebSocket from 'ws';
import { startBridge, startEcho } from '../helpers/bridge.js';
import { assertNoSecrets, basicHeader, SECRETS } from '../helpers/secrets.js';
import { startWebsockify } from '../helpers/websockify.js';

const logs: string[][] = [];
after(() => {
  if (logs.length > 0) assertNoSecrets(logs.flat());
});

interface Outcome {
  status: number;
  challenge: string | undefined;
}

/** 101 for an accepted handshake, otherwise the refusal's status and WWW-Authenticate header. */
function attempt(
  url: string,
  options: { headers?: Record<string, string>; origin?: string },
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    ws.once('open', () => {
      ws.terminate();
      resolve({ status: 101, challenge: undefined });
    });
    ws.once('unexpected-response', (_req, res) => {
      const header = res.headers['www-authenticate'];
      resolve({ status: res.statusCode ?? 0, challenge: Array.isArray(header) ? header[0] : header });
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

async function both(t: TestContext, plugin: string, source: string) {
  const echo = await startEcho();
  t.after(() => echo.close());
  const options = ['--auth-plugin', plugin, '--auth-source', source];
  const websockify = await startWebsockify(t, { target: `127.0.0.1:${echo.port}`, options });
  if (!websockify) return undefined;
  const wstcp = await startBridge([...options, '127.0.0.1:0', `127.0.0.1:${echo.port}`]);
  logs.push(wstcp.logs);
  t.after(() => wstcp.close());
  return { websockify: websockify.url, wstcp: wstcp.url };
}

test('BasicHTTPAuth: missing, wrong, right and non-Basic credentials answer alike', async (t) => {
  const urls = await both(t, 'BasicHTTPAuth', `vnc:${SECRETS.pluginPassword}`);
  if (!urls) return;
  const cases = [
    {},
    { headers: { Authorization: basicHeader('vnc', SECRETS.wrongPassword) } },
    { headers: { Authorization: basicHeader('vnc', SECRETS.pluginPassword) } },
    { headers: { Authorization: 'Digest username="vnc"' } },
  ];
  for (const options of cases) {
    const expected = await attempt(urls.websockify, options);
    assert.deepEqual(await attempt(urls.wstcp, options), expected, JSON.stringify(options));
  }
  assert.deepEqual(await attempt(urls.wstcp, {}), { status: 401, challenge: 'Basic realm="Websockify"' });
});

test('ExpectOrigin: listed, other and missing origins answer alike', async (t) => {
  const urls = await both(t, 'ExpectOrigin', 'https://a.example https://b.example');
  if (!urls) return;
  for (const origin of ['https://b.example', 'https://c.example', undefined]) {
    const options = origin ? { origin } : {};
    const expected = await attempt(urls.websockify, options);
    assert.deepEqual(await attempt(urls.wstcp, options), expected, String(origin));
  }
});
