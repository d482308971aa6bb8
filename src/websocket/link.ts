/**
 * The client side of a session: a WebSocket after its handshake, seen by the relay as a byte pipe with
 * WebSocket close codes. Two implementations:
 * - FrameLink (frame-link.ts): wstcp's own framing straight on the socket; every session uses it unless
 * - WsLink (ws-link.ts): the `ws` library's WebSocket, for sessions that negotiated permessage-deflate.
 */
import type { FrameViolationKind } from '../errors.js';

/** What a link reports to its session. Each is called synchronously, from the socket's own events. */
export interface LinkOwner {
  /** Payload bytes of data frames, in order (valid text too: it is passed on as its bytes). */
  clientData(data: Buffer): void;
  /** Read once, on attach: when true, `clientMessageEnd` follows the last bytes of each message. */
  readonly wantsMessageEnds: boolean;
  /** The message whose bytes `clientData` just passed on is complete (only when `wantsMessageEnds`). */
  clientMessageEnd(): void;
  /**
   * Bracket the `clientData` calls that come from one read of the client socket (a read can hold many
   * small frames), so that the session can pass them on in one write.
   */
  clientReadStart(): void;
  clientReadEnd(): void;
  /** The client answered a heartbeat ping. */
  clientPong(): void;
  /** Everything queued towards the client has been written. */
  clientDrained(): void;
  /**
   * The client broke the protocol, sent invalid UTF-8 text or broke a limit (`violation`); the link is
   * closing with `code`.
   */
  clientError(code: number, message: string, violation: FrameViolationKind): void;
  /**
   * The connection is closed (once): `code` is what the client's close frame said (1005 if it gave none),
   * or 1006 when the connection ended without one.
   */
  clientClosed(code: number, reason: string): void;
}

export interface ClientLink {
  /** The subprotocol agreed in the handshake ('' for none). */
  readonly protocol: string;
  /** The client connection is TLS (wss://). */
  readonly encrypted: boolean;
  /** Data can still be sent: no close frame sent yet and the socket is writable. */
  readonly open: boolean;
  /** Bytes queued towards the client and not yet written to the socket. */
  readonly bufferedAmount: number;
  /** Reading from the client is paused (backpressure from the target). */
  readonly paused: boolean;
  /** Starts reporting to `owner`. Called once, right after the link is made. */
  attach(owner: LinkOwner): void;
  /**
   * Sends `data` as one binary frame. Returns true when `data` itself waits in the socket's queue (it
   * must not change until written); false when it was copied or written at once.
   */
  send(data: Buffer): boolean;
  /** Sends a copy of `data` as one binary frame (`data` is only valid during the call). Returns false. */
  sendCopy(data: Buffer): false;
  /** Sends `data`, one whole UTF-8 message, as one text frame; `data` may be kept (like `send`). */
  sendText(data: Buffer): boolean;
  /**
   * Like `send`, for `data` that has MAX_HEADER_BYTES bytes of its own in front of it in memory: the
   * frame header goes there, and header and payload are written as one buffer. `written` is called when
   * the write completes (also when it fails or is dropped with the connection).
   */
  sendInPlace(data: Buffer, written?: () => void): boolean;
  ping(): void;
  /** Starts the closing handshake; the connection is dropped if the client does not complete it in time. */
  close(code: number, reason: string): void;
  /** Drops the connection at once. */
  terminate(): void;
  pause(): void;
  resume(): void;
}
