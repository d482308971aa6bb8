/**
 * `npm run bench:neon`: Neon's serverless driver through wstcp (a separate process, --target-from-url) to
 * a throwaway PostgreSQL, 10,000 single-row INSERTs one after the other, with the driver's
 * `coalesceWrites` on (its default) and off. Prints a markdown table (docs/performance.md, "Neon driver").
 *
 *   npm run bench:neon                    10,000 rows, 3 runs of each setting (alternating)
 *   npm run bench:neon -- --rows 2000 --reps 1
 */
import { parseArgs } from 'node:util';
import { Client, neonConfig } from '@neondatabase/serverless';
import WebSocket from 'ws';
import { postgresBin, startPostgres } from '../test/helpers/postgres.js';
import { spawnWstcp } from '../test/helpers/process.js';

async function insertRows(url: string, rows: number, coalesceWrites: boolean): Promise<number> {
  neonConfig.coalesceWrites = coalesceWrites;
  const client = new Client(url);
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('DROP TABLE IF EXISTS bench_rows');
    await client.query('CREATE TABLE bench_rows (id integer PRIMARY KEY, body text NOT NULL)');
    const started = process.hrtime.bigint();
    for (let i = 0; i < rows; i++) {
      await client.query('INSERT INTO bench_rows (id, body) VALUES ($1, $2)', [i, `row ${i}`]);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const { rows: count } = await client.query('SELECT count(*)::int AS n FROM bench_rows');
    if (count[0].n !== rows) throw new Error(`bench: ${count[0].n} rows arrived of ${rows}`);
    return seconds;
  } finally {
    await client.end();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string' }, reps: { type: 'string' } } });
  const rows = Number(values.rows ?? 10000);
  const reps = Number(values.reps ?? 3);
  if (!(rows > 0 && reps > 0)) throw new Error('bench: --rows and --reps must be above 0');
  const bin = postgresBin();
  if (!bin) throw new Error('bench: PostgreSQL is not installed (apt-get install postgresql)');
  const pg = await startPostgres(bin);
  // The helper's guard kills the bridge after its timeout: give it the whole run (an hour at most).
  const allow = `127.0.0.1:${pg.port}`;
  const wstcp = await spawnWstcp(['--target-from-url', '--allow-target', allow, '127.0.0.1:0'], 3600_000);
  try {
    neonConfig.webSocketConstructor = WebSocket;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineConnect = false;
    neonConfig.wsProxy = `127.0.0.1:${wstcp.port}/v1`;
    const times: Record<'on' | 'off', number[]> = { on: [], off: [] };
    for (let rep = 0; rep < reps; rep++) {
      for (const setting of ['on', 'off'] as const) {
        const seconds = await insertRows(pg.url, rows, setting === 'on');
        times[setting].push(seconds);
        process.stderr.write(
          `bench: coalesceWrites ${setting}: ${rows} inserts in ${seconds.toFixed(2)} s\n`,
        );
      }
    }
    const line = (setting: 'on' | 'off') => {
      const s = median(times[setting]);
      return `| ${setting === 'on' ? '`true` (default)' : '`false`'} | ${s.toFixed(2)} s | ${Math.round(rows / s)} | ${((s / rows) * 1e6).toFixed(0)} µs |`;
    };
    process.stdout.write(
      `| coalesceWrites | ${rows.toLocaleString('en')} single-row INSERTs (median of ${reps}) | inserts/s | per insert |\n|---|---|---|---|\n${line('on')}\n${line('off')}\n`,
    );
  } finally {
    wstcp.kill();
    await wstcp.exited;
    pg.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
