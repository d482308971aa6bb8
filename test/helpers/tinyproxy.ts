/**
 * The real tinyproxy (Debian `tinyproxy`) as an HTTP CONNECT proxy for client tests: its own config in a
 * temporary directory, listening on a free 127.0.0.1 port, stopped when the test ends. Its log file shows
 * which CONNECTs it carried.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { collectOutput, stopChild, waitUntilAccepting } from './peer-process.js';
import { freePort } from './ports.js';
import { requireProgram } from './programs.js';
import { tempDir } from './tmp.js';

export interface RunningProxy {
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** tinyproxy's log so far. */
  log(): string;
}

export interface ProxyOptions {
  /** Ports CONNECT may reach (tinyproxy refuses others with 403); all when omitted. */
  readonly connectPorts?: readonly number[];
  /** `user password` required as Proxy-Authorization (tinyproxy answers 407 without it). */
  readonly basicAuth?: readonly [string, string];
}

/** Starts tinyproxy, or resolves undefined when it is not installed (the test is then skipped). */
export async function startTinyproxy(
  t: TestContext,
  options: ProxyOptions = {},
): Promise<RunningProxy | undefined> {
  const program = requireProgram(t, 'tinyproxy');
  if (!program) return undefined;
  const { dir } = tempDir(t, 'wstcp-tinyproxy-');
  const logFile = join(dir, 'tinyproxy.log');
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const lines = [
      `Port ${port}`,
      'Listen 127.0.0.1',
      'Timeout 30',
      `LogFile "${logFile}"`,
      'LogLevel Connect',
      'MaxClients 100',
      'Allow 127.0.0.1',
      ...(options.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
      ...(options.basicAuth ? [`BasicAuth ${options.basicAuth[0]} ${options.basicAuth[1]}`] : []),
    ];
    const config = join(dir, 'tinyproxy.conf');
    writeFileSync(config, `${lines.join('\n')}\n`);
    const child = spawn(program, ['-d', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    const output = collectOutput(child);
    try {
      await waitUntilAccepting(child, port, 'tinyproxy', output);
      t.after(() => stopChild(child));
      return { port, url: `http://127.0.0.1:${port}`, log: () => readLog(logFile) };
    } catch (err) {
      lastError = err;
      await stopChild(child);
    }
  }
  throw lastError;
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
