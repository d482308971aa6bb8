/**
 * The one parse of a handshake's request target. Token routing (tokens/token-from-request.ts) and the
 * paths in log lines both read the URL made here, so a log line can never spell a path differently from
 * the way it was routed (`/t\X` is routed as `/t/X`: it must be redacted as `/t/X` too).
 */
import { redactPathToken } from '../tokens/token-from-request.js';
import { tokenTag } from '../tokens/token-tag.js';

const BASE = 'http://wstcp.invalid';
const LOGGED_PATH_CHARS = 200;

/**
 * `rawUrl` as a URL. An origin-form target (`/...`) is appended to a fixed origin rather than resolved
 * against it, so that `//t/X` stays the path `//t/X` instead of naming a host `t`. Undefined when it
 * does not parse.
 * @example parseRequestUrl('/t\\X?token=Y')?.pathname // '/t/X'
 */
export function parseRequestUrl(rawUrl: string | undefined): URL | undefined {
  const raw = rawUrl ?? '/';
  try {
    return raw.startsWith('/') ? new URL(`${BASE}${raw}`) : new URL(raw, BASE);
  } catch {
    return undefined;
  }
}

/**
 * The request path for a log line: the parsed path (never the query, which may carry `token=`), cut
 * short so a huge URL cannot flood the log. With `redactTokens` (a token store routes sessions), the
 * segment routing would take as the token is replaced by its tag, and so is any segment that decodes to
 * something holding `/` or `\` (another parser may split it and find a token there) or does not decode.
 * @example loggedPath('/t\\desk1', true) // '/t/t:…' (the tag of "desk1")
 */
export function loggedPath(rawUrl: string | undefined, redactTokens: boolean): string {
  const url = parseRequestUrl(rawUrl);
  if (!url) return '(unparsable)';
  let path = url.pathname;
  if (redactTokens) path = redactPathToken(path).split('/').map(redactSplittable).join('/');
  return path.length > LOGGED_PATH_CHARS ? `${path.slice(0, LOGGED_PATH_CHARS)}...` : path;
}

function redactSplittable(segment: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    // Undecodable: not a token to our routing, but a laxer decoder may read one in it.
    return tokenTag(segment);
  }
  return /[/\\]/.test(decoded) ? tokenTag(decoded) : segment;
}
