/**
 * htpasswd-style files for --basic-auth: `user:hash` per line, `#` comments and blank lines ignored.
 * Every hash is parsed when the file is loaded, so a bad line stops startup with file:line instead of
 * failing one login later. Hash formats: see password-hash.ts.
 */
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { HashFormatError, type PasswordHash, parsePasswordHash } from './password-hash.js';

/** Checks `user:password` credentials (the decoded Basic authorization value) against a store. */
export interface CredentialCheck {
  check(user: string, password: Buffer): boolean;
}

/** Loads an htpasswd file; throws ConfigError naming `file:line` for unreadable files and bad lines. */
export function loadHtpasswd(file: string, flag = '--basic-auth'): CredentialCheck {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${flag} ${file}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const users = new Map<string, PasswordHash>();
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${file}:${index + 1}`;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ConfigError(`${flag} ${where}: expected user:hash`);
    const user = line.slice(0, colon);
    // htpasswd files written by `htpasswd` never carry more fields; anything after a second colon belongs to the hash.
    try {
      users.set(user, parsePasswordHash(line.slice(colon + 1)));
    } catch (err) {
      if (err instanceof HashFormatError)
        throw new ConfigError(`${flag} ${where}: user "${user}": ${err.message}`);
      throw err;
    }
  }
  const first = users.values().next().value;
  if (!first) throw new ConfigError(`${flag} ${file}: no user:hash lines in it`);
  return {
    check(user, password) {
      const entry = users.get(user);
      if (entry) return entry.verify(password);
      // Spend the same work on unknown users, so response times do not reveal which names exist.
      first.verify(password);
      return false;
    },
  };
}

/** How often at most a reloading file is looked at (one stat: cheap, and no watcher to own). */
const RECHECK_MS = 1000;

function fingerprint(file: string): string {
  try {
    const stat = statSync(file);
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/**
 * An htpasswd file that is read again when it changes (checked at most once a second, on use): users
 * added or removed take effect without a restart. A file that no longer loads (removed, a bad line) is
 * logged and the users read last stay in force, as with a TLS certificate reload. Throws ConfigError when
 * the file does not load at startup.
 */
export function reloadingHtpasswd(file: string, log?: Logger, flag = '--basic-auth'): CredentialCheck {
  let current = loadHtpasswd(file, flag);
  let seen = fingerprint(file);
  let checkedAt = Date.now();
  const refresh = () => {
    const now = Date.now();
    if (now - checkedAt < RECHECK_MS) return;
    checkedAt = now;
    const print = fingerprint(file);
    if (print === seen) return;
    seen = print;
    try {
      current = loadHtpasswd(file, flag);
      log?.info('auth.htpasswd_reloaded', { file });
    } catch (err) {
      log?.error('auth.htpasswd_reload_failed', {
        file,
        error: (err as Error).message,
        kept: 'previous users',
      });
    }
  };
  return {
    check(user, password) {
      refresh();
      return current.check(user, password);
    },
  };
}
