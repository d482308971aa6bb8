/**
 * The two bridges an interop scenario runs against: the Python websockify (the reference) and wstcp, both
 * pointed at the same target and both listening on 127.0.0.1.
 */

import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { startBridge } from './bridge.js';
import { startWebsockify } from './websockify.js';

export interface Subject {
  readonly name: 'websockify' | 'wstcp';
  /** ws://127.0.0.1:PORT */
  readonly url: string;
}

/**
 * Starts websockify and wstcp in front of `target` (`host:port`); both are torn down after the test.
 * Resolves undefined when websockify is not installed (the test has been skipped).
 */
export async function startSubjects(t: TestContext, target: string): Promise<Subject[] | undefined> {
  const websockify = await startWebsockify(t, { target });
  if (!websockify) return undefined;
  const wstcp = await startBridge(['127.0.0.1:0', target]);
  t.after(() => wstcp.close());
  return [
    { name: 'websockify', url: websockify.url },
    { name: 'wstcp', url: wstcp.url },
  ];
}

export interface HandshakeAnswer {
  readonly status: number;
  /** The Sec-WebSocket-Protocol the server chose, if any. */
  readonly protocol: string | undefined;
  readonly headers: Record<string, string | string[] | undefined>;
}

/**
 * Sends a WebSocket upgrade request with exactly the given Sec-WebSocket-Protocol header (the ws client
 * rewrites that header, so the interop tests need a raw request to send e.g. `base64, binary`).
 */
export function handshake(url: string, protocolHeader?: string): Promise<HandshakeAnswer> {
  const { hostname, port } = new URL(url);
  const headers: Record<string, string> = {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
  };
  if (protocolHeader !== undefined) headers['Sec-WebSocket-Protocol'] = protocolHeader;
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: '/', headers, agent: false });
    req.once('upgrade', (res, socket: Socket) => {
      socket.destroy();
      resolve({ status: 101, protocol: header(res.headers['sec-websocket-protocol']), headers: res.headers });
    });
    req.once('response', (res) => {
      res.resume();
      resolve({
        status: res.statusCode ?? 0,
        protocol: header(res.headers['sec-websocket-protocol']),
        headers: res.headers,
      });
    });
    req.once('error', reject);
    req.end();
  });
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
