/**
 * --metrics with --workers: the primary serves the sum of its workers, and a worker killed and replaced
 * does not take its counters with it (a counter going down reads as a reset to Prometheus).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openClient, receive, startEcho } from '../helpers/bridge.js';
import { httpGet, metricsPort, scrape, spawnWorkersWithMetrics } from '../helpers/metrics.js';

test('the primary sums its workers, and counters never go backwards when a worker is replaced', async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const wstcp = await spawnWorkersWithMetrics(t, 2, echo.port);
  const pids = String(wstcp.lines.find((l) => l.event === 'workers.listening')?.pids)
    .split(',')
    .map(Number);
  assert.equal(pids.length, 2);
  const metrics = metricsPort(wstcp);
  assert.equal((await httpGet(metrics, '/readyz')).status, 200);

  // Enough sessions that both workers get some (the kernel spreads connections between them).
  for (let i = 0; i < 12; i++) {
    const ws = await openClient(`ws://127.0.0.1:${wstcp.port}/`);
    ws.send(Buffer.from('12345'));
    await receive(ws, 5);
    ws.close();
  }
  let before = await scrape(metrics);
  for (let i = 0; i < 100 && before.get('wstcp_sessions_open{kind="tcp"}') !== 0; i++) {
    await sleep(20);
    before = await scrape(metrics);
  }
  assert.equal(before.get('wstcp_sessions_total{kind="tcp"}'), 12);
  assert.equal(before.get('wstcp_bytes_total{direction="to_target"}'), 60);
  const cpuBefore = before.get('process_cpu_seconds_total') ?? 0;

  process.kill(pids[0]!, 'SIGKILL');
  for (let i = 0; i < 300 && !wstcp.lines.some((l) => l.event === 'worker.restarted'); i++) await sleep(20);
  assert.ok(wstcp.lines.some((l) => l.event === 'worker.restarted'));
  const after = await scrape(metrics);
  assert.equal(after.get('wstcp_sessions_total{kind="tcp"}'), 12);
  assert.equal(after.get('wstcp_bytes_total{direction="to_target"}'), 60);
  assert.ok((after.get('process_cpu_seconds_total') ?? 0) >= cpuBefore);

  const ws = await openClient(`ws://127.0.0.1:${wstcp.port}/`);
  ws.send(Buffer.from('x'));
  await receive(ws, 1);
  const later = await scrape(metrics);
  assert.equal(later.get('wstcp_sessions_total{kind="tcp"}'), 13);
  assert.equal(later.get('wstcp_sessions_open{kind="tcp"}'), 1);
  ws.close();
});

// Under --workers the primary served only its workers' sum: its own memory and CPU were nowhere.
test("the primary's own process metrics come under wstcp_primary_, matching the primary's process", async (t) => {
  const echo = await startEcho();
  t.after(() => echo.close());
  const wstcp = await spawnWorkersWithMetrics(t, 1, echo.port);
  const metrics = metricsPort(wstcp);
  let scraped = await scrape(metrics);
  for (let i = 0; i < 50 && !scraped.has('process_resident_memory_bytes'); i++) {
    await sleep(100);
    scraped = await scrape(metrics);
  }
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${wstcp.child.pid}/status`, 'utf8'))?.[1]);
  const reported = scraped.get('wstcp_primary_process_resident_memory_bytes') ?? 0;
  assert.ok(
    Math.abs(reported - rssKiB * 1024) < rssKiB * 1024 * 0.3,
    `reported ${reported}, the primary has ${rssKiB} KiB`,
  );
  assert.ok(scraped.has('wstcp_primary_process_cpu_seconds_total'));
  assert.ok(scraped.has('process_resident_memory_bytes'), "the workers' sum is still there");
});
