/**
 * Reads a PROXY protocol header off a freshly accepted socket, without taking a byte more: whatever
 * followed the header in the same read is put back, so the TLS or HTTP layer sees the stream as the
 * client sent it.
 */
import type { Socket } from 'node:net';
import {
  type ProxyHeader,
  ProxyProtocolError,
  parseProxyHeader,
  V1_MAX_LENGTH,
  V2_MAX_LENGTH,
  V2_SIGNATURE,
} from './proxy-protocol.js';

/**
 * Resolves with the header once it has arrived, the socket paused and holding the bytes after it. Rejects
 * with ProxyProtocolError when the bytes are not a valid header, the header does not arrive within
 * `timeoutMs`, or the peer goes away first; the caller destroys the socket then.
 *
 * @example
 * const header = await readProxyHeader(socket, 5000);
 * http.emit('connection', socket);
 * socket.resume();
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxyHeader> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const cleanup = () => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('end', onGone);
      socket.removeListener('close', onGone);
    };
    const failWith = (err: Error) => {
      cleanup();
      socket.pause();
      reject(err);
    };
    const timer = setTimeout(
      () => failWith(new ProxyProtocolError(`no PROXY protocol header within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onGone = () => failWith(new ProxyProtocolError('the peer closed before its PROXY protocol header'));
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      let result: ReturnType<typeof parseProxyHeader>;
      try {
        result = parseProxyHeader(buffered);
      } catch (err) {
        failWith(err as Error);
        return;
      }
      if (!result.done) {
        // parseProxyHeader bounds v1 itself and v2 by its 16-bit length; this is the backstop.
        const limit = buffered[0] === V2_SIGNATURE[0] ? V2_MAX_LENGTH : V1_MAX_LENGTH;
        if (buffered.length > limit) failWith(new ProxyProtocolError('PROXY protocol header too long'));
        return;
      }
      cleanup();
      socket.pause();
      if (buffered.length > result.length) socket.unshift(buffered.subarray(result.length));
      resolve(result.header);
    };
    socket.on('data', onData);
    socket.once('end', onGone);
    socket.once('close', onGone);
    socket.resume();
  });
}
