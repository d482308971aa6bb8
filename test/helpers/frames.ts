/**
 * WebSocket frames by hand, for tests that must send what a library would refuse to (bad frames, odd
 * splits) or read exactly what the bridge wrote: a raw client handshake, masked client frames, and a
 * reader of the bridge's frames.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

export interface FrameOptions {
  /** Final fragment (default true). */
  fin?: boolean;
  /** RSV1-3 bits, as the byte's 0x70 part (default 0). */
  rsv?: number;
  /** Mask the payload as a client must (default true). */
  masked?: boolean;
}

/** A client frame (RFC 6455 5.2) carrying `payload`, masked with a random key unless told otherwise. */
export function clientFrame(opcode: number, payload: Buffer, options: FrameOptions = {}): Buffer {
  const { fin = true, rsv = 0, masked = true } = options;
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const header = Buffer.alloc(2 + extended + (masked ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | rsv | opcode;
  header[1] = (masked ? 0x80 : 0) | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) header.writeUInt16BE(length, 2);
  if (extended === 8) header.writeBigUInt64BE(BigInt(length), 2);
  if (!masked) return Buffer.concat([header, payload]);
  const mask = randomBytes(4);
  mask.copy(header, 2 + extended);
  const body = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) body[i] = (payload[i] as number) ^ (mask[i & 3] as number);
  return Buffer.concat([header, body]);
}

/** A close frame's payload: the code, then the reason. */
export function closePayload(code: number, reason: string | Buffer = ''): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code);
  return Buffer.concat([head, Buffer.from(reason)]);
}

/** A WebSocket handshake on a raw socket; resolves once the 101 answer is read, with any bytes after it. */
export async function rawClient(
  port: number,
  extraHeaders = '',
  path = '/',
): Promise<{ socket: Socket; rest: Buffer }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
  );
  let head = Buffer.alloc(0);
  while (!head.includes('\r\n\r\n')) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    head = Buffer.concat([head, chunk]);
  }
  const end = head.indexOf('\r\n\r\n') + 4;
  assert.match(head.subarray(0, end).toString('latin1'), /^HTTP\/1\.1 101 /);
  return { socket, rest: head.subarray(end) };
}

export interface ServerFrame {
  fin: boolean;
  rsv: number;
  masked: boolean;
  opcode: number;
  payload: Buffer;
}

/** Reads the bridge's frames from a raw socket, one at a time, until the socket ends. */
export class FrameReader {
  private buffered: Buffer;
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(socket: Socket, rest: Buffer = Buffer.alloc(0)) {
    this.buffered = rest;
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  /** The next whole frame, or undefined when the socket closed first. */
  async next(timeoutMs = 5000): Promise<ServerFrame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.parse();
      if (frame) return frame;
      if (this.ended) return undefined;
      const left = deadline - Date.now();
      assert.ok(left > 0, `no whole frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Whether the socket has closed with nothing left unread. */
  get closed(): boolean {
    return this.ended && this.buffered.length === 0;
  }

  private parse(): ServerFrame | undefined {
    const b = this.buffered;
    if (b.length < 2) return undefined;
    let length = (b[1] as number) & 0x7f;
    let at = 2;
    if (length === 126) {
      if (b.length < 4) return undefined;
      length = b.readUInt16BE(2);
      at = 4;
    } else if (length === 127) {
      if (b.length < 10) return undefined;
      length = Number(b.readBigUInt64BE(2));
      at = 10;
    }
    const masked = ((b[1] as number) & 0x80) !== 0;
    if (masked) at += 4;
    if (b.length < at + length) return undefined;
    this.buffered = b.subarray(at + length);
    return {
      fin: ((b[0] as number) & 0x80) !== 0,
      rsv: (b[0] as number) & 0x70,
      masked,
      opcode: (b[0] as number) & 0x0f,
      payload: Buffer.from(b.subarray(at, at + length)),
    };
  }
}
