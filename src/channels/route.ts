/**
 * The channel endpoints as a front-door route (front/routes.ts): `--channel-pub-path/ID` and
 * `--channel-sub-path/ID[,ID...]`. The channel modules (and ioredis with them) are loaded only when
 * --channels is given; requests that arrive while they load wait for them. Subscribers pass the bridge's
 * gates (limits, origin, basic auth) with the same handshake context as bridge clients.
 */
import type { IncomingMessage } from 'node:http';
import { handshakeContext } from '../admission/context.js';
import type { Release } from '../admission/pipeline.js';
import { refuse } from '../errors.js';
import { answerRefusal } from '../front/refusal.js';
import type { Route, RouteContext } from '../front/routes.js';
import { endpointPrefixes, isEndpointPath } from './endpoint-path.js';
import type { ChannelEndpoints } from './open.js';
import type { ChannelStats } from './store.js';

/** The channel route; `stats()` gives the channel counts (channels, subscribers, published, delivered). */
export type ChannelRoute = Route & { stats(): ChannelStats | undefined };

export function channelRoute(ctx: RouteContext): ChannelRoute | undefined {
  const config = ctx.config.channels;
  if (!config) return undefined;
  const prefixes = endpointPrefixes(config.pubPath, config.subPath);
  const admit = async (req: IncomingMessage): Promise<Release | undefined> => {
    const context = handshakeContext(req);
    const releases: Release[] = [];
    try {
      for (const gate of ctx.gates) {
        const release = await gate(context);
        if (release) releases.push(release);
      }
    } catch (err) {
      for (const release of releases) release();
      throw err;
    }
    return releases.length === 0
      ? undefined
      : () => {
          for (const release of releases.splice(0)) release();
        };
  };
  const opening: Promise<ChannelEndpoints> = import('./open.js').then((m) =>
    m.openChannels(config, ctx.log, admit),
  );
  // A failure is reported by ready() at startup; until then nothing waits on an unhandled rejection.
  opening.catch(() => {});
  let endpoints: ChannelEndpoints | undefined;
  const unavailable = () => refuse('SHUTTING_DOWN', 'channels are not available');
  return {
    matches: (path) => isEndpointPath(path, prefixes),
    request: (req, res, path) => {
      if (endpoints) endpoints.request(req, res, path);
      else
        void opening.then(
          (e) => e.request(req, res, path),
          () => answerRefusal(res, unavailable()),
        );
    },
    upgrade: (req, socket, head, path) => {
      if (endpoints) endpoints.upgrade(req, socket, head, path);
      else
        void opening.then(
          (e) => e.upgrade(req, socket, head, path),
          () => answerRefusal(socket, unavailable()),
        );
    },
    ready: async () => {
      endpoints = await opening;
    },
    close: async () => {
      await (await opening.catch(() => undefined))?.close();
    },
    stats: () => endpoints?.stats(),
  };
}
