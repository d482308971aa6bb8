/** The path of a request URL, percent-decoded as Go's net/url does (websocketd's variables hold it so). */

const HEX = /^[0-9a-fA-F]{2}$/;

/**
 * `%XX` -> byte, then UTF-8; `+` stays `+`. Undefined for a malformed escape (`%zz`, a trailing `%`),
 * which Go's HTTP server answers with 400 before websocketd sees the request.
 */
export function decodePath(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  const bytes: number[] = [];
  const encoded = Buffer.from(raw, 'utf8');
  for (let i = 0; i < encoded.length; i++) {
    const byte = encoded[i]!;
    if (byte !== 0x25) {
      bytes.push(byte);
      continue;
    }
    const hex = encoded.toString('latin1', i + 1, i + 3);
    if (!HEX.test(hex)) return undefined;
    bytes.push(Number.parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(bytes).toString('utf8');
}
