/**
 * The viewer's probe: browsers hide the HTTP status of a refused WebSocket handshake (the page sees only
 * code 1006), so after a failed connection the built-in viewer asks the bridge why, with a same-origin
 * `POST` to the WebSocket's own URL carrying `X-Wstcp-Probe: 1`. The bridge runs the very same admission
 * as for the handshake (auth and Origin gates, connection limits, the token lookup, --allow-target, and
 * opening the target, which is closed again at once, so that "VNC server down" is told apart from
 * "unknown token") and answers with the refusal a handshake would have got (status, X-Wstcp-Error, the
 * reason), or 204 when a handshake would be admitted now.
 *
 * Why this is safe: it answers only what any non-browser client already learns from a handshake; it opens
 * no target a handshake could not open, through the same gates and the same connection slots; it relays
 * nothing. Browsers send Origin with a POST, so --origin applies; a cross-origin page cannot send the
 * header without a CORS preflight, which the bridge never grants. The viewer sends one probe per failed
 * connection, within its reconnect back-off.
 */
import type { IncomingMessage } from 'node:http';

export const PROBE_HEADER = 'x-wstcp-probe';

/** Whether a plain request is a probe. */
export function isProbe(req: IncomingMessage): boolean {
  return req.method === 'POST' && req.headers[PROBE_HEADER] === '1';
}
