/**
 * The Redis store's entries (see redis-scripts.ts): `m<time>:<tag>:<publishedAtMs>\n<meta JSON>\n<data>`,
 * the same bytes in the buffer list and on pub/sub. The data is never copied: a decoded message's data
 * is a view into the entry.
 */
import type { ChannelMessage } from './message.js';

/** What the publisher sends to the script, which puts the id and time in front. */
export function encodePayload(
  data: Buffer,
  contentType: string | undefined,
  event: string | undefined,
): Buffer {
  const meta = JSON.stringify({ c: contentType, e: event });
  return Buffer.concat([Buffer.from(`${meta}\n`), data]);
}

const NEWLINE = 0x0a;

/** Decodes a buffer entry (redis-scripts.ts); undefined for anything else. */
export function decodeEntry(entry: Buffer): ChannelMessage | undefined {
  if (entry[0] !== 0x6d) return undefined;
  const headEnd = entry.indexOf(NEWLINE);
  const metaEnd = headEnd < 0 ? -1 : entry.indexOf(NEWLINE, headEnd + 1);
  if (metaEnd < 0) return undefined;
  const [time, tag, ms] = entry.subarray(1, headEnd).toString('latin1').split(':').map(Number);
  let meta: { c?: string; e?: string };
  try {
    meta = JSON.parse(entry.subarray(headEnd + 1, metaEnd).toString('utf8')) as { c?: string; e?: string };
  } catch {
    return undefined;
  }
  if (time === undefined || tag === undefined || ms === undefined || Number.isNaN(time + tag + ms))
    return undefined;
  return {
    id: { time, tag },
    data: entry.subarray(metaEnd + 1),
    contentType: meta.c,
    event: meta.e,
    publishedAt: ms,
  };
}
