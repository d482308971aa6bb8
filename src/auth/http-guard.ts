/**
 * --web-auth: the same gates that guard WebSocket handshakes guard plain HTTP requests (static files,
 * the viewer). A refused request gets the gate's status, headers and reason, like a refused handshake.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientAddressPolicy } from '../admission/client-address.js';
import { handshakeContext } from '../admission/context.js';
import type { Gate, HttpHandler, Release } from '../admission/pipeline.js';
import { HttpError, refuse } from '../errors.js';
import { answerRefusal } from '../front/refusal.js';

/**
 * Wraps `handler` so every request passes `gates` first (in order; each must pass). Releases returned by
 * gates are called once the response is finished or the connection closes.
 */
export function guardHttp(
  handler: HttpHandler,
  gates: readonly Gate[],
  clientOf?: ClientAddressPolicy,
): HttpHandler {
  if (gates.length === 0) return handler;
  return (req: IncomingMessage, res: ServerResponse) => {
    const releases: Release[] = [];
    res.once('close', () => {
      for (const release of releases) release();
    });
    const run = async () => {
      const ctx = handshakeContext(req, req.socket, clientOf);
      for (const gate of gates) {
        const release = await gate(ctx);
        if (release) releases.push(release);
      }
    };
    run()
      .then(() => handler(req, res))
      .catch((err) =>
        answerRefusal(res, err instanceof HttpError ? err : refuse('INTERNAL', 'internal error')),
      );
  };
}
