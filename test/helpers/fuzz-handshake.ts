/**
 * Mutated WebSocket upgrade requests for the handshake fuzz test, drawn from a seeded Prng: a valid request
 * with one to three mutations (headers dropped, duplicated or mangled, bad keys and versions, bad methods
 * and HTTP versions, junk bytes, oversized headers, bare LF line ends, a request cut short).
 */
import type { Prng } from './prng.js';

interface Request {
  requestLine: string;
  headers: [string, string][];
  eol: string;
  /** Bytes after the header block (a body, or junk). */
  tail: Buffer;
  /** Raw bytes before the request line. */
  prefix: Buffer;
  /** Leave off the blank line that ends the header block: only the handshake timeout can end this one. */
  truncated: boolean;
}

const BAD_KEYS = [
  '',
  'short',
  'AAAAAAAAAAAAAAAAAAAAAA==x',
  '!!!!!!!!!!!!!!!!!!!!!!!!',
  'dGhlIHNhbXBsZSBub25jZQ',
  ' ',
];
const BAD_VERSIONS = ['', '0', '7', '8', '12', '14', '13, 8', 'thirteen', '-13', '13.0'];
const METHODS = ['POST', 'PUT', 'get', 'G E T', 'HEAD', 'OPTIONS', 'CONNECT', 'XYZZY', '\x00GET'];
const HTTP_VERSIONS = ['HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1.1', 'HTTX/1.1', ''];
const TARGETS = ['*', '//', '/%zz', `/${'a'.repeat(9000)}`, '/?token=%', 'http://127.0.0.1/', '/\x7f'];
const EXTRA_HEADERS: [string, string][] = [
  ['Transfer-Encoding', 'chunked'],
  ['Content-Length', '5'],
  ['Content-Length', '-1'],
  ['Sec-WebSocket-Protocol', 'binary'],
  ['Sec-WebSocket-Protocol', 'base64'],
  ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits'],
  ['Origin', 'http://evil.example'],
  ['Expect', '100-continue'],
];

export const MUTATIONS = [
  'drop-header',
  'duplicate-header',
  'bad-key',
  'bad-version',
  'bad-method',
  'bad-http-version',
  'bad-target',
  'junk-line',
  'junk-prefix',
  'junk-tail',
  'huge-header',
  'many-headers',
  'extra-header',
  'bare-lf',
  'no-colon',
  'space-in-name',
  'nul-in-value',
  'truncated',
] as const;

function base(rng: Prng): Request {
  return {
    requestLine: 'GET / HTTP/1.1',
    headers: [
      ['Host', '127.0.0.1'],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', rng.bytes(16).toString('base64')],
      ['Sec-WebSocket-Version', '13'],
    ],
    eol: '\r\n',
    tail: Buffer.alloc(0),
    prefix: Buffer.alloc(0),
    truncated: false,
  };
}

function setHeader(req: Request, name: string, value: string): void {
  const found = req.headers.find(([n]) => n === name);
  if (found) found[1] = value;
  else req.headers.push([name, value]);
}

function mutate(rng: Prng, req: Request, mutation: (typeof MUTATIONS)[number]): void {
  const [method, target, version] = req.requestLine.split(' ');
  switch (mutation) {
    case 'drop-header':
      if (req.headers.length > 0) req.headers.splice(rng.int(0, req.headers.length - 1), 1);
      break;
    case 'duplicate-header': {
      const [name, value] = rng.pick(req.headers) ?? ['Host', 'x'];
      req.headers.splice(rng.int(0, req.headers.length), 0, [name, rng.chance(0.5) ? value : `${value}x`]);
      break;
    }
    case 'bad-key':
      setHeader(req, 'Sec-WebSocket-Key', rng.pick(BAD_KEYS));
      break;
    case 'bad-version':
      setHeader(req, 'Sec-WebSocket-Version', rng.pick(BAD_VERSIONS));
      break;
    case 'bad-method':
      req.requestLine = `${rng.pick(METHODS)} ${target} ${version}`;
      break;
    case 'bad-http-version':
      req.requestLine = `${method} ${target} ${rng.pick(HTTP_VERSIONS)}`;
      break;
    case 'bad-target':
      req.requestLine = `${method} ${rng.pick(TARGETS)} ${version}`;
      break;
    case 'junk-line':
      req.headers.splice(rng.int(0, req.headers.length), 0, [
        '',
        rng.bytes(rng.int(1, 40)).toString('latin1'),
      ]);
      break;
    case 'junk-prefix':
      req.prefix = rng.bytes(rng.int(1, 200));
      break;
    case 'junk-tail':
      req.tail = rng.bytes(rng.int(1, 2000));
      break;
    case 'huge-header':
      req.headers.push([`X-Huge-${rng.int(0, 99)}`, 'h'.repeat(rng.int(8000, 40000))]);
      break;
    case 'many-headers':
      for (let i = rng.int(100, 3000); i > 0; i--) req.headers.push([`X-${i}`, String(i)]);
      break;
    case 'extra-header': {
      const [name, value] = rng.pick(EXTRA_HEADERS);
      setHeader(req, name, value);
      break;
    }
    case 'bare-lf':
      req.eol = '\n';
      break;
    case 'no-colon':
      req.headers.splice(rng.int(0, req.headers.length), 0, ['', 'NoColonHere']);
      break;
    case 'space-in-name':
      req.headers.push(['Bad Name', 'v']);
      break;
    case 'nul-in-value':
      setHeader(req, 'Host', '127.0.0.1\u0000evil');
      break;
    case 'truncated':
      req.truncated = true;
      break;
  }
}

function encode(req: Request): Buffer {
  // A header with no name is a raw line (junk, or a line without a colon).
  const lines = req.headers.map(([name, value]) => (name === '' ? value : `${name}: ${value}`));
  const head = [req.requestLine, ...lines].join(req.eol) + req.eol + (req.truncated ? '' : req.eol);
  return Buffer.concat([req.prefix, Buffer.from(head, 'latin1'), req.tail]);
}

/** One mutated request: its bytes and the names of the mutations applied. */
export function mutatedRequest(rng: Prng): { bytes: Buffer; mutations: string[] } {
  const req = base(rng);
  const mutations = Array.from({ length: rng.int(1, 3) }, () => rng.pick(MUTATIONS));
  for (const m of mutations) mutate(rng, req, m);
  return { bytes: encode(req), mutations };
}
