/**
 * TokenFileName: a directory in which the file named after the token holds `host:port`. Only the token's
 * own file is read, per lookup: there is no table to keep in memory, and a new file is live at once.
 *
 * A token is a file name, never a path: tokens with `/`, `\`, NUL, or equal to `.`/`..` are unknown
 * (websockify takes the basename instead, which silently maps `a/b` to `b`).
 */
import { readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { AddressError } from '../address.js';
import { ConfigError, describeError } from '../errors.js';
import type { SocketTarget } from '../targets/registry.js';
import { parseStoredTarget } from './route-options.js';
import { StoreUnavailableError, type WritableTokenStore } from './store.js';
import { storedTargetText } from './token-file-format.js';

/** True when the token can only name a file directly inside the directory. */
export function isSafeFileName(token: string): boolean {
  return token !== '' && token !== '.' && token !== '..' && !/[/\\\0]/.test(token);
}

const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'ENAMETOOLONG']);

/**
 * @example
 * // /var/lib/wstcp/tokens/desk1 contains "10.0.0.5:5900"
 * const store = new TokenFileNameStore('/var/lib/wstcp/tokens');
 * await store.lookup('desk1'); // { kind: 'tcp', host: '10.0.0.5', port: 5900 }
 */
export class TokenFileNameStore implements WritableTokenStore {
  readonly description: string;
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    this.description = `token directory ${this.dir}`;
  }

  async lookup(token: string): Promise<SocketTarget | undefined> {
    const path = this.pathOf(token);
    if (!path) return undefined;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (MISSING.has((err as NodeJS.ErrnoException).code ?? '')) return undefined;
      throw new StoreUnavailableError(
        `cannot read ${this.description}: ${(err as NodeJS.ErrnoException).code}`,
      );
    }
    try {
      return parseStoredTarget(text);
    } catch (err) {
      if (!(err instanceof AddressError)) throw err;
      throw new StoreUnavailableError(`a token file in ${this.description} is malformed: ${err.message}`);
    }
  }

  async set(token: string, target: SocketTarget): Promise<void> {
    const path = this.requirePath(token);
    const temp = join(this.dir, `.wstcp-${process.pid}.tmp`);
    await writeFile(temp, `${storedTargetText(target)}\n`, { mode: 0o644 });
    await rename(temp, path);
  }

  async remove(token: string): Promise<boolean> {
    try {
      await unlink(this.requirePath(token));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async list(): Promise<Array<{ token: string; target: SocketTarget }>> {
    const entries = await readdir(this.dir, { withFileTypes: true });
    const out: Array<{ token: string; target: SocketTarget }> = [];
    for (const entry of entries
      .filter((e) => !e.name.startsWith('.'))
      .sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (!entry.isFile() && !entry.isSymbolicLink()) continue;
      try {
        const target = await this.lookup(entry.name);
        if (target) out.push({ token: entry.name, target });
      } catch (err) {
        throw new StoreUnavailableError(`${join(this.dir, entry.name)}: ${describeError(err)}`);
      }
    }
    return out;
  }

  async close(): Promise<void> {}

  private pathOf(token: string): string | undefined {
    if (!isSafeFileName(token)) return undefined;
    const path = join(this.dir, token);
    const rel = relative(this.dir, path);
    // Belt and braces: the name check above already rules out every way out of the directory.
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
    return path;
  }

  private requirePath(token: string): string {
    const path = this.pathOf(token);
    if (!path) throw new ConfigError(`"${token}" cannot be a file name in ${this.dir}`);
    return path;
  }
}
