/**
 * --same-origin (websocketd's --sameorigin): the page that opens the WebSocket must come from the host
 * and port the handshake was sent to. Host and port are compared as websocketd compares them (a missing
 * port is 80, or 443 for https and for wss:// handshakes); a handshake without Origin is refused.
 */
import type { Gate, HandshakeContext } from '../admission/pipeline.js';
import { refuse } from '../errors.js';
import { serverOf } from '../targets/command/environment.js';

export function sameOriginGate(): Gate {
  return (ctx: HandshakeContext) => {
    const origin = ctx.req.headers.origin;
    let url: URL | undefined;
    try {
      url = origin === undefined ? undefined : new URL(origin);
    } catch {
      url = undefined;
    }
    const local = serverOf(ctx.req.headers.host ?? '', ctx.secure);
    const remote = url ? serverOf(url.host, url.protocol === 'https:') : undefined;
    if (!remote || remote.server === '' || remote.server !== local.server || remote.port !== local.port) {
      throw refuse('FORBIDDEN', 'the Origin is not the host this handshake was sent to (--same-origin)');
    }
  };
}
