/**
 * Many WebSocket subscribers in one child process (its own file-descriptor budget), for the 10,000
 * subscriber test and the fan-out benchmark: raw sockets, a fixed-key handshake, a minimal parser for
 * the server's unmasked frames. Messages whose payload starts with a float64 (ms since the epoch, from
 * performance.timeOrigin + now() in the publisher) give publish-to-delivery latencies.
 *
 *   node fanout-swarm.js HOST PORT PATH COUNT
 * prints `READY <open> <failed>` once every handshake is done; then on stdin, `STATS` prints one JSON
 * line ({messages, bytes, closed, disorder, p50, p99, samples}) and clears the latencies; `QUIT` ends it.
 * `disorder` counts stamped messages that came no later than the one before on their socket (a message
 * repeated or out of order: publishers stamp each one later than the last).
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

const [host = '127.0.0.1', portText = '0', path = '/', countText = '1'] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const MAX_SAMPLES = 4_000_000;
const latencies = new Float64Array(MAX_SAMPLES);
let samples = 0;
let messages = 0;
let bytes = 0;
let closed = 0;
let disorder = 0;
let open = 0;
let failed = 0;

const REQUEST =
  `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Parses frames from one socket; header-split and payload-split reads are joined. */
class Reader {
  private pending: Buffer | undefined;
  private upgraded = false;
  private lastSent = 0;

  /** `chunk` is only valid during the call (the shared read buffer): what is kept is copied. */
  push(chunk: Buffer): void {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    if (!this.upgraded) {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) {
        this.pending = Buffer.from(data);
        return;
      }
      this.upgraded = true;
      data = data.subarray(end + 4);
    }
    let offset = 0;
    const at = now();
    while (data.length - offset >= 2) {
      const second = data[offset + 1] as number;
      let length = second & 0x7f;
      let header = 2;
      if (length === 126) {
        if (data.length - offset < 4) break;
        length = data.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === 127) {
        if (data.length - offset < 10) break;
        length = data.readUInt32BE(offset + 6);
        header = 10;
      }
      if (data.length - offset < header + length) break;
      const opcode = (data[offset] as number) & 0x0f;
      if (opcode === 1 || opcode === 2) {
        messages++;
        bytes += length;
        if (length >= 8) {
          const sent = data.readDoubleLE(offset + header);
          if (sent > 1e12 && sent < 1e14) {
            if (sent <= this.lastSent) disorder++;
            this.lastSent = sent;
            if (samples < MAX_SAMPLES) latencies[samples++] = at - sent;
          }
        }
      }
      offset += header + length;
    }
    if (offset < data.length) this.pending = Buffer.from(data.subarray(offset));
  }
}

/**
 * One read buffer for every socket (`onread`): Node then allocates nothing per read, where a 'data'
 * event costs a fresh buffer each, and the collections of this process's young generation (every second
 * or so at 20,000 messages/s) delayed whole fan-out walks in the latency figures.
 */
const readBuffer = Buffer.alloc(64 * 1024);

function open1(): Promise<void> {
  return new Promise((resolve) => {
    const reader = new Reader();
    let settled = false;
    const socket: Socket = connect({
      port,
      host,
      onread: {
        buffer: readBuffer,
        callback: (length: number, buffer: Uint8Array): boolean => {
          const chunk = (buffer as Buffer).subarray(0, length);
          if (!settled) {
            settled = true;
            if (chunk.toString('latin1', 0, 12) === 'HTTP/1.1 101') open++;
            else failed++;
            resolve();
          }
          reader.push(chunk);
          return true;
        },
      },
    });
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write(REQUEST));
    socket.on('error', () => {});
    socket.on('close', () => {
      closed++;
      if (!settled) {
        settled = true;
        failed++;
        resolve();
      }
    });
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
}

async function main(): Promise<void> {
  const batch = 200;
  for (let i = 0; i < count; i += batch) {
    const opening: Promise<void>[] = [];
    for (let j = i; j < Math.min(count, i + batch); j++) opening.push(open1());
    await Promise.all(opening);
  }
  process.stdout.write(`READY ${open} ${failed}\n`);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line === 'STATS') {
      // In place: the samples are cleared below anyway, and a copy of millions would be garbage.
      const sorted = latencies.subarray(0, samples).sort();
      const stats = {
        messages,
        bytes,
        closed,
        disorder,
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
        samples,
      };
      samples = 0;
      process.stdout.write(`${JSON.stringify(stats)}\n`);
    } else if (line === 'QUIT') {
      process.exit(0);
    }
  });
  lines.on('close', () => process.exit(0));
}

void main();
