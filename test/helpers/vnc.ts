/**
 * A real VNC desktop for browser tests: Xtigervnc on a free X display and a free loopback port, with
 * helpers to run X clients (xsetroot, xdotool) against it. Callers check the programs first with
 * requireProgram(t, 'Xtigervnc', 'tigervnc-standalone-server').
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);

export interface VncDesktop {
  /** The X display number (`:N`). */
  readonly display: number;
  /** The RFB port on 127.0.0.1. */
  readonly port: number;
  /** Runs an X client against the desktop and resolves with its stdout. */
  x(program: string, args: string[]): Promise<string>;
  /** Stops the server (SIGTERM, then SIGKILL after 3 s) and removes its files. */
  close(): Promise<void>;
}

export interface VncOptions {
  /** VNC password (VncAuth, file made with `tigervncpasswd -f`, package tigervnc-tools); no authentication when absent. */
  readonly password?: string;
  readonly width?: number;
  readonly height?: number;
}

const START_ATTEMPTS = 8;
const READY_TIMEOUT_MS = 8000;

/** Starts Xtigervnc; retries on another display and port when a parallel test took the chosen ones. */
export async function startVnc(options: VncOptions = {}): Promise<VncDesktop> {
  const dir = mkdtempSync(join(tmpdir(), 'wstcp-vnc-'));
  const security = ['-SecurityTypes', 'None'];
  if (options.password !== undefined) {
    const { stdout } = await runWithInput('tigervncpasswd', ['-f'], `${options.password}\n`);
    const file = join(dir, 'passwd');
    writeFileSync(file, stdout, { mode: 0o600 });
    security.splice(0, 2, '-SecurityTypes', 'VncAuth', '-PasswordFile', file);
  }
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const display = freeDisplay();
    const port = await freePort();
    const child = spawn(
      'Xtigervnc',
      [
        `:${display}`,
        '-rfbport',
        String(port),
        '-localhost',
        '-interface',
        '127.0.0.1',
        '-nolisten',
        'tcp',
        '-geometry',
        `${options.width ?? 640}x${options.height ?? 480}`,
        '-depth',
        '24',
        '-AlwaysShared',
        '-desktop',
        'wstcp-test',
        ...security,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      stderr = (stderr + s).slice(-4000);
    });
    try {
      await waitReady(child, display, port);
      return desktop(child, display, port, dir);
    } catch (err) {
      lastError = new Error(
        `Xtigervnc :${display} on port ${port} did not start: ${(err as Error).message}\n${stderr}`,
      );
      await stop(child);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

function desktop(child: ChildProcess, display: number, port: number, dir: string): VncDesktop {
  const env = { ...process.env, DISPLAY: `:${display}` };
  return {
    display,
    port,
    async x(program, args) {
      const { stdout } = await run(program, args, { env, timeout: 10000 });
      return stdout;
    },
    async close() {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freeDisplay(): number {
  // Random start so parallel test files rarely collide; a collision is retried by the caller.
  const start = 100 + Math.floor(Math.random() * 800);
  for (let n = start; n < start + 100; n++) {
    if (!existsSync(`/tmp/.X${n}-lock`) && !existsSync(`/tmp/.X11-unix/X${n}`)) return n;
  }
  throw new Error('no free X display number');
}

/** Ready when the RFB port answers with its `RFB 003.00x` banner and the X socket exists. */
async function waitReady(child: ChildProcess, display: number, port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited (${child.exitCode})`);
    if (existsSync(`/tmp/.X11-unix/X${display}`) && (await banner(port))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not ready within ${READY_TIMEOUT_MS} ms`);
}

function banner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data: Buffer) => done(data.toString('latin1').startsWith('RFB ')));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

function runWithInput(program: string, args: string[], input: string): Promise<{ stdout: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = execFile(program, args, { encoding: 'buffer', timeout: 5000 }, (err, stdout) =>
      err ? reject(err) : resolve({ stdout }),
    );
    child.stdin!.end(input);
  });
}
