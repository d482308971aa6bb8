/** Ports for peers that cannot listen on port 0 themselves (redis-server, websockify, Xtigervnc). */
import { once } from 'node:events';
import { createServer } from 'node:net';

/**
 * A 127.0.0.1 port that was free a moment ago: bound on port 0 and released. Nothing listens on it now,
 * so it also serves as a port that refuses connections. Callers that bind it retry on a collision.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
