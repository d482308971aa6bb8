/**
 * Accepting an admitted WebSocket handshake, in one call as `ws`'s handleUpgrade: the 101 and wstcp's own
 * framing (FrameLink), or, when the client offers compression and --permessage-deflate is on, `ws`
 * answering the handshake and carrying the frames (WsLink).
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { FrameLink } from '../websocket/frame-link.js';
import type { ClientLink } from '../websocket/link.js';
import { WsLink } from '../websocket/ws-link.js';
import { acceptUpgrade, offersDeflate } from './handshake.js';

export interface AcceptOptions {
  readonly perMessageDeflate: boolean;
  readonly maxMessageBytes: number;
  /** Text messages and close reasons must be valid UTF-8 (false: --no-utf8-check). */
  readonly utf8Check: boolean;
  /** Extra headers of every 101 answer (--header, --header-ws). */
  readonly headers?: readonly (readonly [string, string])[];
}

export class WebSocketAcceptor {
  /** `ws`, for sessions that negotiate compression; wstcp frames all others. */
  private readonly deflating: WebSocketServer | undefined;
  /** The subprotocol admitted for each request `ws` is answering. */
  private readonly chosen = new WeakMap<IncomingMessage, string>();

  constructor(private readonly options: AcceptOptions) {
    this.deflating = options.perMessageDeflate
      ? new WebSocketServer({
          noServer: true,
          clientTracking: false,
          perMessageDeflate: true,
          maxPayload: options.maxMessageBytes,
          // Valid text is forwarded as its bytes; invalid text and close reasons are refused with 1007.
          skipUTF8Validation: !options.utf8Check,
          // The answer was chosen during admission (chooseSubprotocol); `ws` only repeats it.
          handleProtocols: (_offered, req) => this.chosen.get(req) || false,
        })
      : undefined;
    const extra = options.headers ?? [];
    if (this.deflating && extra.length > 0) {
      this.deflating.on('headers', (headers: string[]) => {
        for (const [name, value] of extra) headers.push(`${name}: ${value}`);
      });
    }
  }

  /**
   * Answers the handshake of `req` (checked by checkUpgradeRequest, `protocol` its answer) and hands the
   * link to `accepted`. When `ws` refuses after all (it re-validates), the socket closes and `refused` runs.
   */
  accept(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    protocol: string,
    accepted: (link: ClientLink) => void,
    refused: () => void,
  ): void {
    const deflating = this.deflating;
    if (deflating && offersDeflate(req)) {
      let done = false;
      const onRefused = () => {
        if (!done) refused();
      };
      socket.once('close', onRefused);
      this.chosen.set(req, protocol);
      deflating.handleUpgrade(req, socket, head, (ws) => {
        done = true;
        socket.removeListener('close', onRefused);
        accepted(new WsLink(ws, socket));
      });
      return;
    }
    acceptUpgrade(socket, req, protocol, this.options.headers);
    const { maxMessageBytes, utf8Check } = this.options;
    accepted(new FrameLink(socket as Socket, protocol, maxMessageBytes, head, utf8Check));
  }

  close(): void {
    this.deflating?.close();
  }
}
