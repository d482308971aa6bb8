/**
 * The HTTP side of a WebSocket handshake: checks made before any target is contacted, the subprotocol
 * answer and the 101. Refusals are answered by front/refusal.ts.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { refuse } from '../errors.js';
import { acceptKey } from '../websocket/frames.js';

const KEY_PATTERN = /^[+/0-9A-Za-z]{22}==$/;

/**
 * Throws BAD_HANDSHAKE (400) unless `req` is a well-formed RFC 6455 upgrade request; returns the
 * subprotocols the client offers, in its order of preference (chooseSubprotocol picks the answer once the
 * target, which may accept more of them, is known).
 */
export function checkUpgradeRequest(req: IncomingMessage): readonly string[] {
  if (req.method !== 'GET')
    throw refuse('BAD_HANDSHAKE', `a WebSocket handshake must use GET, not ${req.method}`);
  checkRequestFraming(req);
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    throw refuse('BAD_HANDSHAKE', 'the Upgrade header must be "websocket"');
  }
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || !KEY_PATTERN.test(key.trim())) {
    throw refuse('BAD_HANDSHAKE', 'missing or invalid Sec-WebSocket-Key header');
  }
  const version = req.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') {
    throw refuse('BAD_HANDSHAKE', 'unsupported Sec-WebSocket-Version (13 is required)', {
      headers: { 'Sec-WebSocket-Version': '13' },
    });
  }
  return offeredSubprotocols(req);
}

/**
 * What Node's HTTP parser lets through but RFC 6455 section 4.1 and RFC 9112 do not: a request that is not
 * HTTP/1.1, a target that is neither a path nor an absolute http(s) URL (`*`), no Host or two of them,
 * and a body. A body matters most: the bytes after the head become the first WebSocket frames, so a
 * chunked or Content-Length body would be read as frames that a front proxy took for HTTP (smuggling).
 */
function checkRequestFraming(req: IncomingMessage): void {
  if (req.httpVersion !== '1.1')
    throw refuse('BAD_HANDSHAKE', `a WebSocket handshake must be HTTP/1.1, not HTTP/${req.httpVersion}`);
  const target = req.url ?? '';
  if (!target.startsWith('/') && !/^https?:\/\//i.test(target))
    throw refuse('BAD_HANDSHAKE', 'the request target must be a path (/...) or an http(s) URL');
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts++;
  if (hosts !== 1) throw refuse('BAD_HANDSHAKE', 'a WebSocket handshake needs exactly one Host header');
  if (req.headers['transfer-encoding'] !== undefined)
    throw refuse('BAD_HANDSHAKE', 'a WebSocket handshake cannot carry a body (Transfer-Encoding)');
  const length = req.headers['content-length'];
  if (length !== undefined && length !== '0')
    throw refuse('BAD_HANDSHAKE', 'a WebSocket handshake cannot carry a body (Content-Length)');
}

function offeredSubprotocols(req: IncomingMessage): readonly string[] {
  return (req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/** RFC 6455 section 4.1: a subprotocol is an HTTP token (RFC 9110 section 5.6.2). */
export const SUBPROTOCOL_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;

/**
 * The subprotocol to answer: the first one the client offers among those accepted (`binary` always, plus
 * --subprotocol and the target's own), none when none is offered. An offer with none of them is refused
 * with a reason (naming the flag that would accept it) rather than accepted with no answer, which
 * browsers and MQTT clients turn into an unexplained failure. wstcp never echoes a subprotocol it was not
 * told the target speaks: the answer is a promise about the bytes that follow.
 */
export function chooseSubprotocol(offered: readonly string[], ...accepted: (readonly string[])[]): string {
  if (offered.length === 0) return '';
  const known = new Set(['binary', ...accepted.flat()]);
  const chosen = offered.find((p) => known.has(p));
  if (chosen !== undefined) return chosen;
  // Only token characters are repeated back, and only a few names, so the reason stays one short line.
  const named = offered.filter((p) => SUBPROTOCOL_PATTERN.test(p)).slice(0, 4);
  const hint = named.length > 0 ? `; to accept it, start wstcp with --subprotocol ${named[0]}` : '';
  throw refuse(
    'BAD_HANDSHAKE',
    `unsupported subprotocol ${named.join(', ') || '(not a token)'}: wstcp speaks ${[...known]
      .map((p) => `"${p}"`)
      .join(', ')} (or none)${hint}`,
  );
}

/** True when the client offers permessage-deflate (used only when `--permessage-deflate` is on). */
export function offersDeflate(req: IncomingMessage): boolean {
  return /(?:^|,)\s*permessage-deflate\b/i.test(req.headers['sec-websocket-extensions'] ?? '');
}

/**
 * Completes the handshake of a request that passed `checkUpgradeRequest`: writes the 101 answer with
 * `protocol` (when one was chosen) and no extension.
 */
export function acceptUpgrade(
  socket: Duplex,
  req: IncomingMessage,
  protocol: string,
  extraHeaders: readonly (readonly [string, string])[] = [],
): void {
  const key = (req.headers['sec-websocket-key'] as string).trim();
  const accept = acceptKey(key);
  let extra = '';
  for (const [name, value] of extraHeaders) extra += `${name}: ${value}\r\n`;
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n` +
      extra +
      (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n\r\n` : '\r\n'),
  );
}
