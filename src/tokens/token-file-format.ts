/**
 * websockify's token file format: one `token: target` per line, split at the first colon followed by
 * whitespace; `#` comments and blank lines ignored; the last duplicate wins. Targets are `host:port`,
 * `v6:addr:port` (port after the last colon), `[v6]:port` or `unix_socket:/path`, optionally followed by
 * wstcp's options (route-options.ts): `mqtt1: 127.0.0.1:1883 subprotocol=mqtt`.
 */
import { AddressError } from '../address.js';
import { formatPool } from '../targets/pool/pool-target.js';
import type { SocketTarget } from '../targets/registry.js';
import { formatRouteOptions, parseStoredTarget } from './route-options.js';

/** One parsed file: its table, or the problems found, each as `file:line: what is wrong`. */
export interface ParsedTokenFile {
  readonly table: Map<string, SocketTarget>;
  readonly errors: string[];
}

const SEPARATOR = /:\s/;

/** Parses the text of one token file; `name` is used in error messages. */
export function parseTokenFile(text: string, name: string): ParsedTokenFile {
  const table = new Map<string, SocketTarget>();
  const errors: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${name}:${i + 1}`;
    const match = SEPARATOR.exec(line);
    if (!match) {
      errors.push(`${where}: expected "token: host:port" (a colon and a space after the token)`);
      continue;
    }
    const token = line.slice(0, match.index);
    const rest = line.slice(match.index + match[0].length).trim();
    if (SEPARATOR.test(rest)) {
      errors.push(`${where}: more than one ": " on the line; write "token: host:port"`);
      continue;
    }
    try {
      table.set(token, parseStoredTarget(rest));
    } catch (err) {
      if (!(err instanceof AddressError)) throw err;
      errors.push(`${where}: ${err.message}`);
    }
  }
  return { table, errors };
}

/**
 * A target as websockify writes and reads it: `host:port` with IPv6 unbracketed (websockify splits at the
 * last colon and passes the host to the resolver as is), or `unix_socket:/path`. A pool, which websockify
 * cannot read, in its compact form.
 */
export function websockifyTarget(target: SocketTarget): string {
  if (target.kind === 'pool') return formatPool(target);
  return target.kind === 'unix' ? `unix_socket:${target.path}` : `${target.host}:${target.port}`;
}

/** A target with its options, as token lines and plain Redis values hold it. */
export function storedTargetText(target: SocketTarget): string {
  return `${websockifyTarget(target)}${formatRouteOptions(target)}`;
}

/** The token a line defines, or undefined for comments, blank and malformed lines. */
export function lineToken(line: string): string | undefined {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const match = SEPARATOR.exec(trimmed);
  return match ? trimmed.slice(0, match.index) : undefined;
}

/** The line `wstcp tokens set` writes. */
export function formatTokenLine(token: string, target: SocketTarget): string {
  return `${token}: ${storedTargetText(target)}`;
}

/**
 * Tokens written by `wstcp tokens set` must survive every store's format: no whitespace or control
 * characters (the file format splits on ": "), no leading `#` (a comment), not empty. Returns the problem.
 */
export function tokenProblem(token: string): string | undefined {
  if (token === '') return 'the token is empty';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (/[\s\x00-\x1f\x7f]/.test(token)) return 'the token contains whitespace or control characters';
  if (token.startsWith('#')) return 'the token starts with "#" (a comment in token files)';
  return undefined;
}
