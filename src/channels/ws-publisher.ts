/**
 * A WebSocket connection to `/pub/ID` publishes each message it sends (binary ones as
 * application/octet-stream) and gets the channel info back as a text message after each, as Nchan
 * does. Messages are published in order, one at a time; a failed publish closes with 1011.
 */
import type WebSocket from 'ws';
import { describeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { renderChannelInfo } from './info.js';
import type { ChannelStore } from './store.js';

export function servePublisherSocket(ws: WebSocket, channel: string, store: ChannelStore, log: Logger): void {
  let chain = Promise.resolve();
  ws.on('message', (data, isBinary) => {
    const body = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    chain = chain.then(async () => {
      if (ws.readyState !== ws.OPEN) return;
      try {
        const { info } = await store.publish(channel, {
          data: body,
          contentType: isBinary ? 'application/octet-stream' : undefined,
          event: undefined,
        });
        ws.send(renderChannelInfo(info, undefined).body);
      } catch (err) {
        log.warn('channel.publish_failed', { channel, error: describeError(err) });
        ws.close(1011, 'publish failed');
      }
    });
  });
  ws.on('error', () => ws.terminate());
}
