/**
 * Nchan's message ids: `time:tag`, the publish time in whole seconds and a tag counting the messages
 * published to the channel in that same second (from 0). Ids order messages within a channel, so a
 * subscriber that remembers the last id it saw can ask for everything after it.
 */

export interface MessageId {
  readonly time: number;
  readonly tag: number;
}

/** `1450755280:0`. */
export function formatMessageId(id: MessageId): string {
  return `${id.time}:${id.tag}`;
}

/** Parses `time:tag`; undefined for anything else (a bad id from a client starts it at the default). */
export function parseMessageId(text: string): MessageId | undefined {
  const match = /^(\d{1,15}):(\d{1,9})$/.exec(text.trim());
  if (!match) return undefined;
  return { time: Number(match[1]), tag: Number(match[2]) };
}

/** Negative when `a` is older than `b`, 0 when they are the same id, positive when `a` is newer. */
export function compareMessageIds(a: MessageId, b: MessageId): number {
  return a.time !== b.time ? a.time - b.time : a.tag - b.tag;
}

/** The id after `last` at `nowSeconds`: time never goes backwards, even when the clock does. */
export function nextMessageId(last: MessageId | undefined, nowSeconds: number): MessageId {
  if (!last || nowSeconds > last.time) return { time: nowSeconds, tag: 0 };
  return { time: last.time, tag: last.tag + 1 };
}

/**
 * The position of a subscriber on several channels at once (`/sub/a,b`): one entry per channel, in the
 * order of the path, `-` for a channel it has seen nothing of. The channel that carried the message is in
 * brackets, as Nchan marks it: `[1450755280:3],-,1450755279:0`.
 */
export function formatMultiId(positions: readonly (MessageId | undefined)[], current: number): string {
  return positions
    .map((id, i) => {
      const text = id ? formatMessageId(id) : '-';
      return i === current ? `[${text}]` : text;
    })
    .join(',');
}

/** Parses a multi-channel position for `count` channels; undefined when it does not fit. */
export function parseMultiId(text: string, count: number): (MessageId | undefined)[] | undefined {
  const parts = text.split(',');
  if (parts.length !== count) return undefined;
  const positions: (MessageId | undefined)[] = [];
  for (const part of parts) {
    const bare = part.trim().replace(/^\[(.*)\]$/, '$1');
    if (bare === '-') {
      positions.push(undefined);
      continue;
    }
    const id = parseMessageId(bare);
    if (!id) return undefined;
    positions.push(id);
  }
  return positions;
}
