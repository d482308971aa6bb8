/** --metrics for token stores: every lookup counted by result and timed. */
import type { TargetResolver } from '../admission/pipeline.js';
import { HttpError, Refusal } from '../errors.js';
import type { Metrics } from './metrics.js';

/** `resolver`, with each lookup reported to `metrics`: found, refused (unknown, expired) or error (store down). */
export function timedResolver(resolver: TargetResolver, metrics: Metrics): TargetResolver {
  return {
    async resolve(ctx) {
      const started = performance.now();
      try {
        const target = await resolver.resolve(ctx);
        metrics.tokenLookup('found', (performance.now() - started) / 1000);
        return target;
      } catch (err) {
        const storeDown = !(err instanceof HttpError) || err.code === Refusal.STORE_UNAVAILABLE.code;
        metrics.tokenLookup(storeDown ? 'error' : 'refused', (performance.now() - started) / 1000);
        throw err;
      }
    },
    problem: () => resolver.problem?.(),
    close: () => resolver.close(),
  };
}
