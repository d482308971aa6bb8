/**
 * `--dir DIR`: the URL path picks an executable under DIR, as websocketd's --dir does. The path is walked
 * one segment at a time; directories are descended, the first regular file is the script and the segments
 * after it become PATH_INFO (`/tools/count.sh/a/b` -> DIR/tools/count.sh with PATH_INFO `/a/b`).
 *
 * What a URL can reach is only that: an executable regular file whose real path (symlinks resolved) lies
 * inside DIR's real path. `.`, `..`, empty segments, encoded slashes or NULs before the script, missing
 * files, directories and files without execute permission are all "not found", so a client learns
 * nothing about the file system outside DIR.
 */
import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { ScriptFacts } from './environment.js';
import { decodePath } from './url-path.js';

export interface ScriptMatch extends ScriptFacts {
  /** DIR joined with SCRIPT_NAME: what is executed (its own name is the program's argv[0]). */
  readonly file: string;
}

export class ScriptDir {
  private realRoot: Promise<string | undefined> | undefined;

  /** @param root an absolute directory (config.ts resolves it). */
  constructor(readonly root: string) {}

  /** The script a request path (`/a/b?q` without the query) names, or undefined (answered with 404). */
  async resolve(rawPath: string): Promise<ScriptMatch | undefined> {
    if (!rawPath.startsWith('/')) return undefined;
    const segments = rawPath.slice(1).split('/');
    let scriptName = '';
    for (let i = 0; i < segments.length; i++) {
      const name = decodePath(segments[i]!);
      if (name === undefined || name === '' || name === '.' || name === '..') return undefined;
      if (name.includes('/') || name.includes('\0')) return undefined;
      scriptName += `/${name}`;
      const file = join(this.root, scriptName);
      const found = await stat(file).catch(() => undefined);
      if (!found) return undefined;
      if (found.isDirectory()) continue;
      if (!found.isFile() || !(await this.isInside(file)) || !(await isExecutable(file))) return undefined;
      const rest = segments.slice(i + 1);
      const pathInfo = rest.length === 0 ? '' : decodePath(`/${rest.join('/')}`);
      if (pathInfo === undefined) return undefined;
      return { file, scriptName, pathInfo };
    }
    return undefined;
  }

  private async isInside(file: string): Promise<boolean> {
    // A root that is gone now refuses everything, and is looked up again next time.
    this.realRoot ??= realpath(this.root).catch(() => {
      this.realRoot = undefined;
      return undefined;
    });
    const [root, real] = await Promise.all([this.realRoot, realpath(file).catch(() => undefined)]);
    if (root === undefined || real === undefined) return false;
    return real.startsWith(root.endsWith(sep) ? root : root + sep);
  }
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
