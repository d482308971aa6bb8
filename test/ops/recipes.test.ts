/**
 * The recipes in docs/recipes/ work as written: the nginx and HAProxy configs run (ports and certificate
 * paths swapped for the test's) in front of a real wstcp, Prometheus's config passes promtool, every
 * metric the Grafana dashboard queries is one wstcp exports, and the Kubernetes manifests parse, with
 * wstcp arguments wstcp accepts and a grace period longer than the drain.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../../src/cli.js';
import { openClient, receive, startEcho } from '../helpers/bridge.js';
import { httpGet, metricsPort } from '../helpers/metrics.js';
import { selfSigned } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { spawnWstcp, type WstcpProcess } from '../helpers/process.js';
import { requireProgram } from '../helpers/programs.js';
import { startHaproxy, startNginx } from '../helpers/proxies.js';
import { tempDir } from '../helpers/tmp.js';

const RECIPES = fileURLToPath(new URL('../../../docs/recipes/', import.meta.url));
const recipe = (name: string) => readFileSync(`${RECIPES}${name}`, 'utf8');

/** Replaces `from` (which must occur) with `to`, so a recipe change that breaks the test's edit is noticed. */
function swap(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `the recipe no longer contains "${from}"`);
  return text.replaceAll(from, to);
}

async function wstcpBehind(t: { after(fn: () => unknown): void }, flags: string[]): Promise<WstcpProcess> {
  const echo = await startEcho();
  t.after(() => echo.close());
  const wstcp = await spawnWstcp([
    ...flags,
    '--metrics',
    '127.0.0.1:0',
    '127.0.0.1:0',
    `127.0.0.1:${echo.port}`,
  ]);
  t.after(() => {
    wstcp.kill('SIGKILL');
    return wstcp.exited;
  });
  return wstcp;
}

async function sessionVia(url: string, localAddress: string, wstcp: WstcpProcess): Promise<string> {
  const ws = await openClient(url, undefined, { localAddress, rejectUnauthorized: false });
  ws.send(Buffer.from('recipe'));
  assert.equal((await receive(ws, 6)).toString(), 'recipe');
  ws.close();
  return String(wstcp.lines.filter((l) => l.event === 'session.open').at(-1)?.client).replace(/:\d+$/, '');
}

test('docs/recipes/nginx.conf: wss through nginx, the client address from X-Forwarded-For', async (t) => {
  const wstcp = await wstcpBehind(t, ['--trusted-proxy', '127.0.0.1']);
  const files = tempDir(t);
  const pki = selfSigned(['localhost', '127.0.0.1']);
  const port = await freePort();
  let config = recipe('nginx.conf');
  config = swap(config, 'listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`);
  config = swap(config, '/etc/ssl/wstcp/fullchain.pem', files.write('cert.pem', pki.cert));
  config = swap(config, '/etc/ssl/wstcp/privkey.pem', files.write('key.pem', pki.key));
  config = swap(config, '127.0.0.1:6080', `127.0.0.1:${wstcp.port}`);
  const nginx = await startNginx(t, config, [port]);
  if (!nginx) return;
  assert.equal(await sessionVia(`wss://127.0.0.1:${port}/`, '127.0.0.2', wstcp), '127.0.0.2');
});

test('docs/recipes/haproxy.cfg: wss through HAProxy, PROXY v2 to wstcp, health checked on /readyz', async (t) => {
  const wstcp = await wstcpBehind(t, ['--proxy-protocol', '--trusted-proxy', '127.0.0.1']);
  const files = tempDir(t);
  const pki = selfSigned(['localhost', '127.0.0.1']);
  const port = await freePort();
  let config = recipe('haproxy.cfg');
  config = swap(
    config,
    'bind :443 ssl crt /etc/ssl/wstcp/haproxy.pem',
    `bind 127.0.0.1:${port} ssl crt ${files.write('haproxy.pem', pki.cert + pki.key)}`,
  );
  config = swap(config, '127.0.0.1:6080', `127.0.0.1:${wstcp.port}`);
  config = swap(config, 'check port 9187', `check port ${metricsPort(wstcp)} inter 200ms`);
  const haproxy = await startHaproxy(t, config, [port]);
  if (!haproxy) return;
  assert.equal(await sessionVia(`wss://127.0.0.1:${port}/`, '127.0.0.3', wstcp), '127.0.0.3');
  assert.ok(!haproxy.output().includes('is DOWN'), haproxy.output());
});

test('docs/recipes/prometheus.yml passes promtool check config', (t) => {
  const promtool = requireProgram(t, 'promtool', 'prometheus');
  if (!promtool) return;
  const result = spawnSync(promtool, ['check', 'config', `${RECIPES}prometheus.yml`], { encoding: 'utf8' });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
});

test('docs/recipes/grafana-dashboard.json parses and queries only metrics wstcp exports', async (t) => {
  const dashboard = JSON.parse(recipe('grafana-dashboard.json')) as {
    panels: { targets: { expr: string }[] }[];
  };
  const exprs = dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr));
  assert.ok(exprs.length >= 8);
  const wstcp = await wstcpBehind(t, []);
  const text = (await httpGet(metricsPort(wstcp), '/metrics')).body;
  const exported = new Set(
    [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
      type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!],
    ),
  );
  for (const expr of exprs) {
    for (const [name] of expr.matchAll(/wstcp_[a-z_]+/g)) assert.ok(exported.has(name), `${name} in ${expr}`);
  }
});

test('docs/recipes/kubernetes.yaml parses; probes, drain and grace period agree; wstcp accepts its arguments', (t) => {
  const python = requireProgram(t, 'python3');
  if (!python) return;
  const parsed = spawnSync(
    python,
    ['-c', 'import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(sys.stdin))))'],
    { input: recipe('kubernetes.yaml'), encoding: 'utf8' },
  );
  if (parsed.status !== 0 && parsed.stderr.includes("No module named 'yaml'")) {
    if (process.env.CI === 'true') throw new Error('CI=true and python3-yaml is not installed');
    t.skip('SKIPPED: python3 has no yaml module (apt-get install python3-yaml)');
    return;
  }
  assert.equal(parsed.status, 0, parsed.stderr);
  // biome-ignore lint/suspicious/noExplicitAny: the manifests' shape is checked field by field below.
  const docs = JSON.parse(parsed.stdout) as any[];
  assert.deepEqual(
    docs.map((d) => d.kind),
    ['Deployment', 'Service', 'Ingress'],
  );
  const pod = docs[0].spec.template.spec;
  const container = pod.containers[0];
  const config = parseArgs(container.args);
  const drainSeconds = config.ops.drainTimeoutMs / 1000;
  const preStop = Number(container.lifecycle.preStop.exec.command[1]);
  assert.ok(
    pod.terminationGracePeriodSeconds > drainSeconds + preStop,
    'the grace period covers preStop and the drain',
  );
  const metricsPortNumber = container.ports.find((p: { name: string }) => p.name === 'metrics').containerPort;
  assert.equal(config.ops.metrics?.kind === 'tcp' && config.ops.metrics.port, metricsPortNumber);
  assert.equal(container.readinessProbe.httpGet.path, '/readyz');
  assert.equal(container.livenessProbe.httpGet.path, '/healthz');
  assert.equal(container.readinessProbe.httpGet.port, 'metrics');
  const annotations = docs[2].metadata.annotations as Record<string, string>;
  assert.ok(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout']) >= 3600);
});
