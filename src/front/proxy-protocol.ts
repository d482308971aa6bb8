/**
 * The PROXY protocol (HAProxy's proxy-protocol.txt), versions 1 and 2, as sent by HAProxy `send-proxy`
 * and `send-proxy-v2`, nginx `proxy_protocol on` and AWS NLB: a header in front of the connection's
 * bytes that names the client the proxy accepted. Only a trusted proxy may send it (--trusted-proxy), and
 * from such a peer it is required, so an attacker can never slip in an address of their choosing.
 */
import { isIP } from 'node:net';

/** Where a proxied connection really comes from. */
export interface ProxiedPeer {
  readonly address: string;
  readonly port: number;
}

export type ProxyHeader =
  /** A relayed connection with the client's address. */
  | {
      readonly kind: 'proxy';
      readonly version: 1 | 2;
      readonly source: ProxiedPeer;
      readonly destination: ProxiedPeer;
    }
  /** The proxy's own connection (health checks: v2 LOCAL) or a family it cannot name (v1 UNKNOWN, v2 UNSPEC/UNIX). */
  | { readonly kind: 'local'; readonly version: 1 | 2 };

export type ParseResult =
  | { readonly done: false }
  | { readonly done: true; readonly header: ProxyHeader; readonly length: number };

/** A header that is not PROXY protocol or breaks it; `code` is stable. */
export class ProxyProtocolError extends Error {
  readonly code = 'WSTCP_PROXY_PROTOCOL';
}

export const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V1_PREFIX = Buffer.from('PROXY ');
/** The longest v1 line, CRLF included (proxy-protocol.txt section 2.1). */
export const V1_MAX_LENGTH = 107;
const V2_FIXED_LENGTH = 16;
/** The largest v2 header: the fixed part and a 16-bit length of addresses and TLVs. */
export const V2_MAX_LENGTH = V2_FIXED_LENGTH + 0xffff;

function fail(reason: string): never {
  throw new ProxyProtocolError(`invalid PROXY protocol header: ${reason}`);
}

/** True while `bytes` could still be the start of `expected`. */
function couldStart(bytes: Buffer, expected: Buffer): boolean {
  const n = Math.min(bytes.length, expected.length);
  return bytes.subarray(0, n).equals(expected.subarray(0, n));
}

/**
 * Parses the header at the start of `bytes`. Returns `{ done: false }` while more bytes are needed and
 * throws ProxyProtocolError as soon as the bytes cannot be a valid header (so a peer that is not a proxy
 * is refused at its first bytes, not after a timeout).
 */
export function parseProxyHeader(bytes: Buffer): ParseResult {
  if (couldStart(bytes, V2_SIGNATURE) && bytes.length > 0 && bytes[0] === V2_SIGNATURE[0]) {
    return parseV2(bytes);
  }
  if (couldStart(bytes, V1_PREFIX)) return parseV1(bytes);
  return fail('the connection does not start with a PROXY protocol v1 or v2 signature');
}

function parseV1(bytes: Buffer): ParseResult {
  const end = bytes.indexOf('\r\n');
  if (end < 0) {
    if (bytes.length >= V1_MAX_LENGTH) fail(`v1 line longer than ${V1_MAX_LENGTH} bytes`);
    return { done: false };
  }
  if (end + 2 > V1_MAX_LENGTH) fail(`v1 line longer than ${V1_MAX_LENGTH} bytes`);
  const line = bytes.subarray(0, end).toString('latin1');
  const fields = line.split(' ');
  const length = end + 2;
  if (fields[1] === 'UNKNOWN') return { done: true, header: { kind: 'local', version: 1 }, length };
  if (fields.length !== 6) fail('v1 line does not have six fields');
  const [, family, source, destination, sourcePort, destinationPort] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const expected =
    family === 'TCP4'
      ? 4
      : family === 'TCP6'
        ? 6
        : fail(`v1 family "${family}" is not TCP4, TCP6 or UNKNOWN`);
  if (isIP(source) !== expected || isIP(destination) !== expected) fail(`v1 addresses are not ${family}`);
  return {
    done: true,
    header: {
      kind: 'proxy',
      version: 1,
      source: { address: source, port: v1Port(sourcePort) },
      destination: { address: destination, port: v1Port(destinationPort) },
    },
    length,
  };
}

function v1Port(text: string): number {
  // Decimal without leading zeros (the specification forbids them), 0-65535.
  if (!/^(0|[1-9]\d{0,4})$/.test(text) || Number(text) > 65535) fail(`v1 port "${text}" is invalid`);
  return Number(text);
}

function parseV2(bytes: Buffer): ParseResult {
  if (bytes.length < V2_FIXED_LENGTH) return { done: false };
  const versionCommand = bytes[12]!;
  if (versionCommand >> 4 !== 2) fail(`v2 version ${versionCommand >> 4} is not 2`);
  const command = versionCommand & 0x0f;
  if (command > 1) fail(`v2 command ${command} is neither LOCAL nor PROXY`);
  const familyTransport = bytes[13]!;
  const addressLength = bytes.readUInt16BE(14);
  const length = V2_FIXED_LENGTH + addressLength;
  if (bytes.length < length) return { done: false };
  if (command === 0) return { done: true, header: { kind: 'local', version: 2 }, length };
  const family = familyTransport >> 4;
  const body = bytes.subarray(V2_FIXED_LENGTH, length);
  if (family === 1) {
    if (body.length < 12) fail('v2 IPv4 addresses are truncated');
    return {
      done: true,
      header: {
        kind: 'proxy',
        version: 2,
        source: { address: ipv4(body.subarray(0, 4)), port: body.readUInt16BE(8) },
        destination: { address: ipv4(body.subarray(4, 8)), port: body.readUInt16BE(10) },
      },
      length,
    };
  }
  if (family === 2) {
    if (body.length < 36) fail('v2 IPv6 addresses are truncated');
    return {
      done: true,
      header: {
        kind: 'proxy',
        version: 2,
        source: { address: ipv6(body.subarray(0, 16)), port: body.readUInt16BE(32) },
        destination: { address: ipv6(body.subarray(16, 32)), port: body.readUInt16BE(34) },
      },
      length,
    };
  }
  // UNSPEC or UNIX: the receiver "must use the real connection endpoints" (section 2.2).
  if (family === 0 || family === 3) return { done: true, header: { kind: 'local', version: 2 }, length };
  return fail(`v2 address family ${family} is unknown`);
}

function ipv4(bytes: Buffer): string {
  return Array.from(bytes).join('.');
}

function ipv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  const text = groups.join(':');
  // An IPv4-mapped address reads as the IPv4 address, like every other client address wstcp logs.
  const mapped = /^0:0:0:0:0:ffff:([0-9a-f]+):([0-9a-f]+)$/.exec(text);
  if (mapped) {
    const high = Number.parseInt(mapped[1]!, 16);
    const low = Number.parseInt(mapped[2]!, 16);
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return compressIpv6(groups);
}

/** RFC 5952 text: the longest run of two or more zero groups becomes `::`. */
function compressIpv6(groups: string[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}
