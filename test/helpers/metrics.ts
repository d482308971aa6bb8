/** Reading wstcp's --metrics listener in tests: the port from the log, samples parsed from the text. */
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnWstcp, type WstcpProcess } from './process.js';

/**
 * A spawned `wstcp --workers COUNT --metrics 127.0.0.1:0 [extra] 127.0.0.1:0 127.0.0.1:TARGET`, killed after
 * the test, returned once every worker listens (or after 6 s, for the test to find out why).
 */
export async function spawnWorkersWithMetrics(
  t: { after(fn: () => unknown): void },
  count: number,
  targetPort: number,
  extra: readonly string[] = [],
): Promise<WstcpProcess> {
  const wstcp = await spawnWstcp([
    '--workers',
    String(count),
    '--metrics',
    '127.0.0.1:0',
    ...extra,
    '127.0.0.1:0',
    `127.0.0.1:${targetPort}`,
  ]);
  t.after(() => {
    wstcp.kill('SIGKILL');
    return wstcp.exited;
  });
  for (let i = 0; i < 300 && !wstcp.lines.some((l) => l.event === 'workers.listening'); i++) await sleep(20);
  return wstcp;
}

/** The --metrics port from the process's metrics.listening line. */
export function metricsPort(wstcp: WstcpProcess): number {
  const line = wstcp.lines.find((l) => l.event === 'metrics.listening');
  if (!line) throw new Error(`no metrics.listening line in: ${wstcp.stderr()}`);
  return Number(String(line.listen).split(':').pop());
}

export interface HttpAnswer {
  readonly status: number;
  readonly type: string;
  readonly body: string;
}

/** One plain HTTP request to 127.0.0.1:`port`. */
export function httpGet(port: number, path: string, method = 'GET'): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** The samples of a text exposition: `name{labels}` (as written) -> value. */
export function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/** /metrics of 127.0.0.1:`port`, parsed. */
export async function scrape(port: number): Promise<Map<string, number>> {
  const answer = await httpGet(port, '/metrics');
  if (answer.status !== 200) throw new Error(`/metrics answered ${answer.status}`);
  return samples(answer.body);
}
