/**
 * A minimal HTTP CONNECT proxy that sends every tunnel to one loopback port, whatever host and port the
 * request names: a server behind it is reachable only through the tunnel. It records what was requested.
 */
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import type { TestContext } from 'node:test';

export interface RedirectingProxy {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** The `host:port` of each CONNECT, in order. */
  readonly requested: string[];
}

export async function startRedirectingProxy(t: TestContext, toPort: number): Promise<RedirectingProxy> {
  const requested: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    let head = '';
    const onHead = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      client.off('data', onHead);
      client.pause();
      requested.push(head.split(' ')[1] ?? '');
      const upstream = connect(toPort, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        client.pipe(upstream).pipe(client);
      });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
    };
    client.on('data', onHead);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.close();
    for (const socket of sockets) socket.destroy();
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, requested };
}
