/**
 * Tokens are secrets: log lines carry a short tag instead, stable per token so that the lines of one
 * client can be followed, and useless for guessing the token.
 */
import { createHash } from 'node:crypto';

/** `t:` and the first 8 hex digits of the token's SHA-256. */
export function tokenTag(token: string): string {
  return `t:${createHash('sha256').update(token).digest('hex').slice(0, 8)}`;
}
