/**
 * The channel info a publisher gets back, in Nchan's exact forms: text (default), JSON (`text/json`),
 * XML or YAML, chosen by the first `text/...` or `application/...` type in Accept that names one.
 */
import { formatMessageId } from './message-id.js';
import type { ChannelInfo } from './store.js';

type InfoFormat = 'plain' | 'json' | 'yaml' | 'xml';

const SUBTYPES: readonly [string, InfoFormat][] = [
  ['plain', 'plain'],
  ['json', 'json'],
  ['x-json', 'json'],
  ['yaml', 'yaml'],
  ['x-yaml', 'yaml'],
  ['xml', 'xml'],
];

function formatFor(accept: string | undefined): InfoFormat {
  if (!accept) return 'plain';
  for (const part of accept.split(',')) {
    const type = part.trim().toLowerCase();
    const slash = type.startsWith('text/') ? 5 : type.startsWith('application/') ? 12 : -1;
    if (slash < 0) continue;
    const subtype = type.slice(slash);
    for (const [name, format] of SUBTYPES) if (subtype.startsWith(name)) return format;
  }
  return 'plain';
}

/** The info as `body` with its `contentType`, as of `nowSeconds`. */
export function renderChannelInfo(
  info: ChannelInfo,
  accept: string | undefined,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): { contentType: string; body: string } {
  const requested = info.lastRequested === 0 ? -1 : Math.max(0, nowSeconds - info.lastRequested);
  const id = formatMessageId(info.lastId ?? { time: 0, tag: 0 });
  const { messages, subscribers } = info;
  switch (formatFor(accept)) {
    case 'json':
      return {
        contentType: 'text/json',
        body: `{"messages": ${messages}, "requested": ${requested}, "subscribers": ${subscribers}, "last_message_id": "${id}" }`,
      };
    case 'xml':
      return {
        contentType: 'text/xml',
        body:
          '<?xml version="1.0" encoding="UTF-8" ?>\r\n<channel>\r\n' +
          `  <messages>${messages}</messages>\r\n  <requested>${requested}</requested>\r\n` +
          `  <subscribers>${subscribers}</subscribers>\r\n  <last_message_id>${id}</last_message_id>\r\n</channel>`,
      };
    case 'yaml':
      return {
        contentType: 'text/yaml',
        body: `---\r\nmessages: ${messages}\r\nrequested: ${requested}\r\nsubscribers: ${subscribers}\r\nlast_message_id: "${id}"\r\n\r\n`,
      };
    default:
      return {
        contentType: 'text/plain',
        body:
          `queued messages: ${messages}\r\nlast requested: ${requested} sec. ago\r\n` +
          `active subscribers: ${subscribers}\r\nlast message id: ${id}`,
      };
  }
}
