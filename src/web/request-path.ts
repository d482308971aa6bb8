/**
 * Turns a raw request target into the list of path segments a file may be looked up with, or says why
 * it cannot be. Decoding happens exactly once, here, so encoded forms (`%2e%2e%2f`, `%2F`) are judged
 * after decoding like their plain forms.
 */

export type PathResult =
  | {
      readonly ok: true;
      readonly segments: readonly string[];
      readonly trailingSlash: boolean;
      readonly query: string;
    }
  | { readonly ok: false; readonly reason: 'bad' | 'hidden' };

/**
 * Parses `req.url`. Refuses (`bad`) targets that are not origin-form, do not decode, or hold NUL or
 * backslash; refuses (`hidden`) any segment starting with a dot: `..` and `.` can only come from a client
 * that crafted them on purpose (browsers resolve them), and dotfiles (`.git`, `.env`) are never served.
 *
 * @example parseRequestPath('/app/ui.js?x=1') // { ok: true, segments: ['app', 'ui.js'], trailingSlash: false, query: '?x=1' }
 */
export function parseRequestPath(rawUrl: string | undefined): PathResult {
  if (!rawUrl?.startsWith('/')) return { ok: false, reason: 'bad' };
  const end = rawUrl.search(/[?#]/);
  const rawPath = end < 0 ? rawUrl : rawUrl.slice(0, end);
  const query = end < 0 || rawUrl[end] === '#' ? '' : rawUrl.slice(end).replace(/#.*$/, '');
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { ok: false, reason: 'bad' };
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return { ok: false, reason: 'bad' };
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s.startsWith('.'))) return { ok: false, reason: 'hidden' };
  return { ok: true, segments, trailingSlash: decoded.endsWith('/'), query };
}

/** Percent-encodes segments back into a URL path, for redirects and for serve-handler. */
export function encodeSegments(segments: readonly string[], trailingSlash: boolean): string {
  const path = `/${segments.map(encodeURIComponent).join('/')}`;
  return trailingSlash && segments.length > 0 ? `${path}/` : path;
}
