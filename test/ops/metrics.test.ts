/**
 * --metrics: a real wstcp process serves Prometheus text (checked by promtool and scraped by a real
 * Prometheus server), /healthz and /readyz; --health-path answers them on the main port.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseMetricsListen } from '../../src/config/ops-config.js';
import { expectRefusal, openClient, receive, startEcho } from '../helpers/bridge.js';
import { httpGet, metricsPort, scrape } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { spawnWstcp } from '../helpers/process.js';
import { requireProgram } from '../helpers/programs.js';
import { runProgram, waitForPort } from '../helpers/proxies.js';
import { tempDir } from '../helpers/tmp.js';
import { startRedis } from '../helpers/tokens.js';

/**
 * prom-client's standard nodejs_active_* gauges end in _total, which promtool's lint flags; they are the
 * library's fixed names (dashboards use them), so they are the only complaints allowed.
 */
const KNOWN_LINT =
  /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;

async function started(t: { after(fn: () => unknown): void }, extra: string[] = []) {
  const echo = await startEcho();
  t.after(() => echo.close());
  const wstcp = await spawnWstcp([
    '--metrics',
    '127.0.0.1:0',
    ...extra,
    '127.0.0.1:0',
    `127.0.0.1:${echo.port}`,
  ]);
  t.after(() => {
    wstcp.kill('SIGKILL');
    return wstcp.exited;
  });
  assert.ok(wstcp.port > 0, wstcp.stderr());
  return { wstcp, metrics: metricsPort(wstcp) };
}

test('--metrics without a host binds loopback only', () => {
  assert.deepEqual(parseMetricsListen('9100'), { kind: 'tcp', host: '127.0.0.1', port: 9100 });
  assert.deepEqual(parseMetricsListen('0.0.0.0:9100'), { kind: 'tcp', host: '0.0.0.0', port: 9100 });
  assert.deepEqual(parseMetricsListen('[::1]:0'), { kind: 'tcp', host: '::1', port: 0 });
});

test('sessions, bytes, refusals by code and latencies appear in /metrics, which promtool accepts', async (t) => {
  const { wstcp, metrics } = await started(t, ['--max-connections', '1']);
  const ws = await openClient(`ws://127.0.0.1:${wstcp.port}/`);
  ws.send(Buffer.from('hello'));
  assert.equal((await receive(ws, 5)).toString(), 'hello');
  const refusal = await expectRefusal(`ws://127.0.0.1:${wstcp.port}/`);
  assert.equal(refusal.status, 503);

  const live = await scrape(metrics);
  assert.equal(live.get('wstcp_sessions_open{kind="tcp"}'), 1);
  assert.equal(live.get('wstcp_sessions_total{kind="tcp"}'), 1);
  assert.equal(live.get('wstcp_bytes_total{direction="to_target"}'), 5);
  assert.equal(live.get('wstcp_bytes_total{direction="to_client"}'), 5);
  assert.equal(live.get('wstcp_handshakes_refused_total{code="WSTCP_TOO_MANY_CONNECTIONS"}'), 1);
  assert.equal(live.get('wstcp_handshake_duration_seconds_count'), 1);
  assert.equal(live.get('wstcp_target_connect_duration_seconds_count{kind="tcp"}'), 1);
  assert.ok((live.get('process_cpu_seconds_total') ?? 0) > 0);
  assert.ok((live.get('nodejs_heap_size_used_bytes') ?? 0) > 0);

  ws.close();
  for (let i = 0; i < 100; i++) {
    if ((await scrape(metrics)).get('wstcp_sessions_open{kind="tcp"}') === 0) break;
    await sleep(20);
  }
  assert.equal((await scrape(metrics)).get('wstcp_sessions_open{kind="tcp"}'), 0);

  const promtool = requireProgram(t, 'promtool', 'prometheus');
  if (!promtool) return;
  const text = (await httpGet(metrics, '/metrics')).body;
  const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  const problems = `${check.stdout}${check.stderr}`.split('\n').filter((l) => l.trim() !== '');
  assert.ok(
    check.status === 0 || check.status === 3,
    `promtool exit ${check.status}: ${problems.join('\n')}`,
  );
  assert.deepEqual(
    problems.filter((l) => !KNOWN_LINT.test(l)),
    [],
  );
});

test('/healthz and /readyz answer 200 with one line; other paths 404, other methods 405', async (t) => {
  const { metrics } = await started(t);
  assert.deepEqual(await httpGet(metrics, '/healthz'), {
    status: 200,
    type: 'text/plain; charset=utf-8',
    body: 'alive\n',
  });
  assert.equal((await httpGet(metrics, '/readyz')).body, 'ready\n');
  assert.equal((await httpGet(metrics, '/nope')).status, 404);
  assert.equal((await httpGet(metrics, '/readyz', 'POST')).status, 405);
  assert.match((await httpGet(metrics, '/metrics')).type, /^text\/plain; version=0\.0\.4/);
});

test('--health-path answers PATH/healthz and PATH/readyz on the main port, not /metrics', async (t) => {
  const { wstcp } = await started(t, ['--health-path', '/lb/']);
  assert.equal((await httpGet(wstcp.port, '/lb/healthz')).body, 'alive\n');
  assert.equal((await httpGet(wstcp.port, '/lb/readyz?probe=1')).status, 200);
  // Served on the path it was routed by (dot segments resolved), not on the raw one.
  assert.equal((await httpGet(wstcp.port, '/x/../lb/healthz')).body, 'alive\n');
  // Anything else on the main port is still the WebSocket endpoint's business.
  assert.equal((await httpGet(wstcp.port, '/lb/metrics')).status, 426);
});

test('a real Prometheus server scrapes the metrics listener', async (t) => {
  const prometheus = requireProgram(t, 'prometheus');
  if (!prometheus) return;
  const { wstcp, metrics } = await started(t);
  const ws = await openClient(`ws://127.0.0.1:${wstcp.port}/`);
  ws.send(Buffer.from('abc'));
  await receive(ws, 3);
  const { dir } = tempDir(t, 'wstcp-prometheus-');
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: wstcp\n    static_configs:\n      - targets: ['127.0.0.1:${metrics}']\n`,
  );
  const port = await freePort();
  const server = runProgram(t, prometheus, [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ]);
  await waitForPort(port, '127.0.0.1', server.child);
  let result: unknown[] = [];
  for (let attempt = 0; attempt < 100 && result.length === 0; attempt++) {
    await sleep(200);
    const answer = await httpGet(
      port,
      `/api/v1/query?query=${encodeURIComponent('wstcp_bytes_total{job="wstcp",direction="to_target"}')}`,
    ).catch(() => undefined);
    if (answer?.status === 200)
      result = (JSON.parse(answer.body) as { data: { result: unknown[] } }).data.result;
  }
  assert.equal(result.length, 1, server.output());
  assert.equal((result[0] as { value: [number, string] }).value[1], '3');
  const up = await httpGet(port, `/api/v1/query?query=${encodeURIComponent('up{job="wstcp"}')}`);
  assert.equal(
    (JSON.parse(up.body) as { data: { result: { value: [number, string] }[] } }).data.result[0]?.value[1],
    '1',
  );
  ws.close();
});

test('/readyz turns 503 while a Redis token store is down and 200 once it is back', async (t) => {
  const program = requireProgram(t, 'redis-server');
  if (!program) return;
  const redis = await startRedis(t, program);
  const wstcp = await spawnWstcp([
    '--metrics',
    '127.0.0.1:0',
    '--tokens',
    `redis://127.0.0.1:${redis.port}/0`,
    '127.0.0.1:0',
  ]);
  t.after(() => {
    wstcp.kill('SIGKILL');
    return wstcp.exited;
  });
  const metrics = metricsPort(wstcp);
  const readyz = async () => (await httpGet(metrics, '/readyz')).status;
  const until = async (status: number) => {
    for (let i = 0; i < 100 && (await readyz()) !== status; i++) await sleep(100);
    return readyz();
  };
  assert.equal(await until(200), 200);
  await redis.stop();
  assert.equal(await until(503), 503);
  assert.match((await httpGet(metrics, '/readyz')).body, /token store .* is unreachable/);
  assert.equal((await httpGet(metrics, '/healthz')).status, 200, 'still alive');
  await redis.start();
  assert.equal(await until(200), 200);
});

// An HTTP token API has no standing connection, so /readyz stayed 200 while the API was down.
test('/readyz turns 503 while an HTTP token API is down and 200 once it is back; the probe carries no token', async (t) => {
  const apiPort = await freePort();
  const paths: string[] = [];
  let api: Server | undefined;
  const startApi = async () => {
    api = createServer((req, res) => {
      paths.push(String(req.url));
      res.writeHead(404).end();
    });
    api.listen(apiPort, '127.0.0.1');
    await once(api, 'listening');
  };
  const stopApi = async () => {
    const server = api!;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  await startApi();
  t.after(() => (api?.listening ? stopApi() : undefined));
  const wstcp = await spawnWstcp([
    '--metrics',
    '127.0.0.1:0',
    '--tokens',
    `http://127.0.0.1:${apiPort}/targets/{token}`,
    '127.0.0.1:0',
  ]);
  t.after(() => {
    wstcp.kill('SIGKILL');
    return wstcp.exited;
  });
  const metrics = metricsPort(wstcp);
  const readyz = async () => (await httpGet(metrics, '/readyz')).status;
  const until = async (status: number) => {
    for (let i = 0; i < 100 && (await readyz()) !== status; i++) await sleep(100);
    return readyz();
  };
  assert.equal(await until(200), 200);
  await stopApi();
  assert.equal(await until(503), 503);
  assert.match((await httpGet(metrics, '/readyz')).body, /^the token store token API .* is unreachable\n$/);
  assert.equal((await httpGet(metrics, '/healthz')).status, 200, 'still alive');
  await startApi();
  assert.equal(await until(200), 200);
  assert.ok(paths.length > 0);
  assert.deepEqual([...new Set(paths)], ['/'], 'probes go to the origin only, never with a token');
});
