/**
 * Channel ids from request paths: `/pub/ID`, `/sub/a,b,c` (up to 255 channels, as Nchan's
 * nchan_channel_id_split_delimiter), and a client's resume position from `?last_event_id=` or the
 * Last-Event-ID header.
 */
import type { IncomingMessage } from 'node:http';
import { type HttpError, refuse } from '../errors.js';
import { parseMessageId, parseMultiId } from './message-id.js';
import type { ResumeFrom } from './subscription.js';

/** Nchan's default nchan_max_channel_id_length. */
export const MAX_CHANNEL_ID_LENGTH = 1024;
export const MAX_MULTIPLEXED = 255;

/** The ids after `prefix` (`/sub/`), or the refusal for a bad path. */
export function channelIds(path: string, prefix: string, multiple: boolean): string[] | HttpError {
  let text: string;
  try {
    text = decodeURIComponent(path.slice(prefix.length));
  } catch {
    return refuse('CHANNEL_BAD_ID', 'the channel id is not valid percent-encoding');
  }
  if (text.length > MAX_CHANNEL_ID_LENGTH) {
    return refuse('CHANNEL_BAD_ID', `a channel id is at most ${MAX_CHANNEL_ID_LENGTH} characters`);
  }
  const ids = multiple ? [...new Set(text.split(','))] : [text];
  if (ids.some((id) => id === '' || (!multiple && id.includes(',')))) {
    return refuse('CHANNEL_BAD_ID', 'a channel id must not be empty or contain ","');
  }
  if (ids.length > MAX_MULTIPLEXED) {
    return refuse('CHANNEL_TOO_MANY_IDS', `at most ${MAX_MULTIPLEXED} channels per subscriber`);
  }
  return ids;
}

/** `?last_event_id=` or Last-Event-ID, for `count` channels; undefined when absent or not an id. */
export function resumePosition(req: IncomingMessage, count: number): ResumeFrom | undefined {
  const query = new URL(req.url ?? '/', 'http://x').searchParams.get('last_event_id');
  const header = req.headers['last-event-id'];
  const text = query ?? (typeof header === 'string' ? header : undefined);
  if (!text) return undefined;
  if (count > 1) return parseMultiId(text, count);
  const id = parseMessageId(text);
  return id ? [id] : undefined;
}

/**
 * A request's path (as the front door parsed it: request-url.ts) as nginx matches Nchan's locations:
 * runs of slashes merged (merge_slashes, on by default), so `/pub//alerts` publishes to `alerts`.
 */
export function channelPath(pathname: string): string {
  return pathname.includes('//') ? pathname.replace(/\/{2,}/g, '/') : pathname;
}

/**
 * The prefixes of the publisher and subscriber endpoints (`/pub/`, `/sub/`) for their paths, as
 * config.ts gives them (slashes merged, no trailing one).
 */
export function endpointPrefixes(pubPath: string, subPath: string): readonly [string, string] {
  return [`${pubPath}/`, `${subPath}/`];
}

/** Whether a request's parsed path is under one of `prefixes` (endpointPrefixes). */
export function isEndpointPath(path: string, prefixes: readonly [string, string]): boolean {
  const channel = channelPath(path);
  return channel.startsWith(prefixes[0]) || channel.startsWith(prefixes[1]);
}
