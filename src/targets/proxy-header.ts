/**
 * --target-proxy-protocol v1|v2: the PROXY protocol header written first on every target connection, so
 * a VNC server, sshd (behind a proxy-aware wrapper) or a database sees the browser's address rather than
 * wstcp's.
 */
import { isIP } from 'node:net';
import { V2_SIGNATURE } from '../front/proxy-protocol.js';

export type ProxyProtocolVersion = 'v1' | 'v2';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** IPv4 as IPv4-mapped IPv6, when the other end of the header is IPv6 (one family per header). */
function asIpv6(address: string): string {
  return isIP(address) === 4 ? `::ffff:${address}` : address;
}

/**
 * The header telling that `source` (the client) connected to `destination` (wstcp's local end of the
 * target connection). Addresses that are not IP (a unix socket) give the UNKNOWN/LOCAL form, which tells
 * the target to use the connection's own addresses.
 */
export function proxyHeader(version: ProxyProtocolVersion, source: Endpoint, destination: Endpoint): Buffer {
  const sourceFamily = isIP(source.address);
  const destinationFamily = isIP(destination.address);
  const known = sourceFamily !== 0 && destinationFamily !== 0;
  const six = sourceFamily === 6 || destinationFamily === 6;
  const from = six ? asIpv6(source.address) : source.address;
  const to = six ? asIpv6(destination.address) : destination.address;
  if (version === 'v1') {
    if (!known) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
    return Buffer.from(
      `PROXY ${six ? 'TCP6' : 'TCP4'} ${from} ${to} ${source.port} ${destination.port}\r\n`,
      'latin1',
    );
  }
  if (!known) return Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  const addressBytes = six ? 36 : 12;
  const header = Buffer.alloc(16 + addressBytes);
  V2_SIGNATURE.copy(header, 0);
  header[12] = 0x21; // version 2, PROXY
  header[13] = six ? 0x21 : 0x11; // INET6 or INET, STREAM
  header.writeUInt16BE(addressBytes, 14);
  const size = six ? 16 : 4;
  writeAddress(header, 16, from, six);
  writeAddress(header, 16 + size, to, six);
  header.writeUInt16BE(source.port, 16 + 2 * size);
  header.writeUInt16BE(destination.port, 18 + 2 * size);
  return header;
}

function writeAddress(into: Buffer, offset: number, address: string, six: boolean): void {
  if (!six) {
    address.split('.').forEach((part, i) => {
      into[offset + i] = Number(part);
    });
    return;
  }
  ipv6Bytes(address).copy(into, offset);
}

/** The 16 bytes of an IPv6 address, `::` and a trailing dotted IPv4 part included. */
export function ipv6Bytes(address: string): Buffer {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(zeros).fill('0'), ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => {
    bytes.writeUInt16BE(Number.parseInt(group, 16), i * 2);
  });
  return bytes;
}
