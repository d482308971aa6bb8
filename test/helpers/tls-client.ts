/** Node TLS client helpers for the TLS tests: handshake outcomes and the certificate a server presents. */
import { once } from 'node:events';
import { type ConnectionOptions, connect, type TLSSocket } from 'node:tls';

/** Connects with `options`; resolves with the socket once secure, rejects with the handshake error. */
export function tlsConnect(port: number, options: ConnectionOptions = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ...options });
    socket.once('secureConnect', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('error', (err) => {
      socket.destroy();
      reject(err);
    });
  });
}

/** The SHA-256 fingerprint of the certificate the server at `port` presents now. */
export async function servedFingerprint(port: number): Promise<string> {
  const socket = await tlsConnect(port, { rejectUnauthorized: false });
  const fingerprint = socket.getPeerCertificate().fingerprint256;
  socket.destroy();
  return fingerprint;
}

/** Sends a WebSocket upgrade request over `socket` and resolves with the response's status line. */
export async function upgradeStatusLine(socket: TLSSocket, extraHeaders = ''): Promise<string> {
  socket.write(
    'GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
  );
  let text = '';
  while (!text.includes('\r\n')) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    text += chunk.toString('latin1');
  }
  return text.slice(0, text.indexOf('\r\n'));
}
