/**
 * A session's client side on the `ws` library's WebSocket: used only when the client and the bridge
 * (`--permessage-deflate`) agreed on compression, which wstcp's own framing (frame-link.ts) does not do.
 * Compressed sessions are rare and not the fast path, so plain closures are fine here.
 */

import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { FrameViolationKind } from '../errors.js';
import { MAX_CLOSE_REASON, truncateUtf8 } from './frames.js';
import type { ClientLink, LinkOwner } from './link.js';

/** As in frame-link.ts: while paused, an unsolicited pong tells whether the client is still there. */
const PAUSED_PROBE_MS = 1000;

export class WsLink implements ClientLink {
  private probeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    /** The socket under `ws`: watched for 'drain'. */
    private readonly socket: Duplex,
  ) {}

  get protocol(): string {
    return this.ws.protocol;
  }

  get encrypted(): boolean {
    return (this.socket as { encrypted?: boolean }).encrypted === true;
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  get paused(): boolean {
    return this.ws.isPaused;
  }

  attach(owner: LinkOwner): void {
    if (owner.wantsMessageEnds) {
      this.ws.on('message', (data: Buffer) => {
        owner.clientData(data);
        owner.clientMessageEnd();
      });
    } else {
      this.ws.on('message', (data: Buffer) => owner.clientData(data));
    }
    this.ws.on('pong', () => owner.clientPong());
    this.ws.on('error', (err) => owner.clientError(wsStatusCode(err), err.message, violationOf(err)));
    this.ws.on('close', (code, reason) => {
      clearInterval(this.probeTimer);
      owner.clientClosed(code, reason.toString('utf8'));
    });
    this.socket.on('drain', () => owner.clientDrained());
  }

  send(data: Buffer): boolean {
    this.ws.send(data);
    return true;
  }

  sendCopy(data: Buffer): false {
    this.ws.send(Buffer.from(data));
    return false;
  }

  sendText(data: Buffer): boolean {
    this.ws.send(data, { binary: false });
    return true;
  }

  sendInPlace(data: Buffer, written?: () => void): boolean {
    this.ws.send(data, written);
    return true;
  }

  ping(): void {
    this.ws.ping();
  }

  close(code: number, reason: string): void {
    // ws refuses a reason that does not fit in a control frame.
    this.ws.close(code, truncateUtf8(reason, MAX_CLOSE_REASON));
  }

  terminate(): void {
    this.ws.terminate();
  }

  pause(): void {
    this.ws.pause();
    if (this.probeTimer !== undefined) return;
    this.probeTimer = setInterval(() => this.probe(), PAUSED_PROBE_MS);
    this.probeTimer.unref();
  }

  resume(): void {
    this.ws.resume();
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  /** A failed write is what reveals a client that has gone (a pending one reports it by itself). */
  private probe(): void {
    if (this.open && this.socket.writableLength === 0) this.ws.pong();
  }
}

/** ws attaches the close code it sends to the errors it emits, under a private symbol. */
function wsStatusCode(err: Error): number {
  for (const key of Object.getOwnPropertySymbols(err)) {
    const value = (err as unknown as Record<symbol, unknown>)[key];
    if (key.description === 'status-code' && typeof value === 'number') return value;
  }
  return 1002;
}

/** `ws`'s WS_ERR_* codes, as wstcp's own names for the same violations. */
const WS_VIOLATIONS: Record<string, FrameViolationKind> = {
  WS_ERR_UNEXPECTED_RSV_1: 'RESERVED_BITS',
  WS_ERR_UNEXPECTED_RSV_2_3: 'RESERVED_BITS',
  WS_ERR_EXPECTED_MASK: 'UNMASKED',
  WS_ERR_INVALID_OPCODE: 'BAD_OPCODE',
  WS_ERR_EXPECTED_FIN: 'FRAGMENTED_CONTROL',
  WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH: 'CONTROL_TOO_LONG',
  WS_ERR_INVALID_CLOSE_CODE: 'BAD_CLOSE',
  WS_ERR_INVALID_UTF8: 'INVALID_UTF8',
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 'TOO_LARGE',
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 'TOO_LARGE',
};

function violationOf(err: Error): FrameViolationKind {
  const code = (err as { code?: string }).code;
  return (code !== undefined ? WS_VIOLATIONS[code] : undefined) ?? 'BAD_OPCODE';
}
