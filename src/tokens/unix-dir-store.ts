/**
 * UnixDomainSocketDirectory: the token names a unix socket directly inside a directory
 * (`DIR/token` must exist and be a socket). Anything else, including a way out of DIR by `..` or by a
 * symlink, is unknown.
 */
import { realpath, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { SocketTarget } from '../targets/registry.js';
import { isSafeFileName } from './name-dir-store.js';
import { StoreUnavailableError, type TokenStore } from './store.js';

/**
 * @example
 * const store = new UnixSocketDirStore('/run/desktops');
 * await store.lookup('alice'); // { kind: 'unix', path: '/run/desktops/alice' } if that is a socket
 */
export class UnixSocketDirStore implements TokenStore {
  readonly description: string;
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    this.description = `unix socket directory ${this.dir}`;
  }

  async lookup(token: string): Promise<SocketTarget | undefined> {
    if (!isSafeFileName(token)) return undefined;
    try {
      // Through symlinks too: a link in DIR to a socket elsewhere (say /run/docker.sock) is not inside DIR.
      const path = await realpath(join(this.dir, token));
      if (!path.startsWith(`${await realpath(this.dir)}${sep}`)) return undefined;
      return (await stat(path)).isSocket() ? { kind: 'unix', path } : undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG') return undefined;
      throw new StoreUnavailableError(`cannot read ${this.description}: ${code}`);
    }
  }

  async close(): Promise<void> {}
}
