/**
 * A real MQTT broker (Debian's `mosquitto`) on a free loopback port with its own temp config, for the
 * MQTT-over-WebSocket clients that reach it through wstcp. Plain MQTT on TCP: wstcp is the WebSocket side.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export interface Mosquitto {
  readonly port: number;
  stop(): Promise<void>;
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Starts mosquitto (the path `program`) and waits until it accepts connections (at most 10 s). */
export async function startMosquitto(program: string): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'wstcp-mqtt-'));
  const port = await freePort();
  const config = join(dir, 'mosquitto.conf');
  // `user root`: as root, mosquitto would otherwise switch to the `mosquitto` user, which may not exist.
  const asRoot = process.getuid?.() === 0 ? 'user root\n' : '';
  writeFileSync(
    config,
    `${asRoot}listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n`,
  );
  const child: ChildProcess = spawn(program, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10000;
  while (!(await accepting(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`mosquitto did not start: ${stderr.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { port, stop };
}
