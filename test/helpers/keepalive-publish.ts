/** One publish over a caller's keep-alive Agent (a publisher that waits for each answer, as Nchan's do). */
import { type Agent, request } from 'node:http';

/** POSTs `body` to /pub/CHANNEL on 127.0.0.1:PORT as application/octet-stream; resolves with the status. */
export function publishOn(agent: Agent, port: number, channel: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/pub/${channel}`,
        agent,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
