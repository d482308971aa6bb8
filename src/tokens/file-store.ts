/**
 * TokenFile / ReadOnlyTokenFile: a token file, or a directory of token files, held in memory and reloaded
 * when it changes. websockify re-reads the file on every connection; here a lookup is a Map read, and an
 * edit that breaks the file is refused as a whole (the previous table stays in service).
 */
import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile, realpath, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigError, describeError } from '../errors.js';
import type { Logger } from '../observe/log.js';
import type { SocketTarget } from '../targets/registry.js';
import type { WritableTokenStore } from './store.js';
import { formatTokenLine, lineToken, parseTokenFile } from './token-file-format.js';

export interface TokenFileOptions {
  /** A token file, or a directory whose files are all token files. */
  readonly source: string;
  readonly log: Logger;
  /** Watch for changes and reload (default true; `wstcp tokens` turns it off). */
  readonly watch?: boolean;
  /** Quiet period after the last change event before reloading (editors write in several steps). */
  readonly debounceMs?: number;
  /** Called after every reload attempt, with the problems found (empty when the new table is in use). */
  readonly onReload?: (errors: readonly string[]) => void;
}

/** Thrown by a load that found bad lines: every problem as `file:line: what is wrong`. */
export class TokenFileError extends ConfigError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : '';
    super(`${problems[0]}${more}`);
    this.problems = problems;
  }
}

/** Files in a token directory that are never read: editor swap and backup files, hidden files. */
function isIgnoredName(name: string): boolean {
  return name.startsWith('.') || name.endsWith('~') || name.endsWith('.swp') || name.endsWith('.tmp');
}

/** Reads and parses the source; throws TokenFileError for bad lines, ConfigError for unreadable files. */
export async function loadTokenSource(source: string): Promise<Map<string, SocketTarget>> {
  let files: string[];
  try {
    const info = await stat(source);
    if (info.isDirectory()) {
      const names = (await readdir(source, { withFileTypes: true }))
        .filter((entry) => entry.isFile() && !isIgnoredName(entry.name))
        .map((entry) => entry.name)
        .sort();
      files = names.map((name) => join(source, name));
    } else {
      files = [source];
    }
  } catch (err) {
    throw new ConfigError(`token source ${source}: ${describeError(err)}`, { cause: err });
  }
  const table = new Map<string, SocketTarget>();
  const problems: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      problems.push(`${file}: ${describeError(err)}`);
      continue;
    }
    const parsed = parseTokenFile(text, file);
    problems.push(...parsed.errors);
    for (const [token, target] of parsed.table) table.set(token, target);
  }
  if (problems.length > 0) throw new TokenFileError(problems);
  return table;
}

/**
 * The in-memory token file store.
 * @example
 * const store = await TokenFileStore.open({ source: '/etc/wstcp/tokens', log });
 * await store.lookup('desk1'); // { kind: 'tcp', host: '10.0.0.5', port: 5900 }
 */
export class TokenFileStore implements WritableTokenStore {
  readonly description: string;
  private table: ReadonlyMap<string, SocketTarget>;
  private readonly options: TokenFileOptions;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private emptyPending = false;
  private closed = false;

  private constructor(options: TokenFileOptions, table: Map<string, SocketTarget>) {
    this.options = options;
    this.table = table;
    this.description = `token file ${options.source}`;
  }

  /** Loads the source (a bad file is a ConfigError naming file:line) and starts watching it. */
  static async open(options: TokenFileOptions): Promise<TokenFileStore> {
    const store = new TokenFileStore(options, await loadTokenSource(options.source));
    if (options.watch !== false) await store.startWatching();
    return store;
  }

  async lookup(token: string): Promise<SocketTarget | undefined> {
    return this.table.get(token);
  }

  async list(): Promise<Array<{ token: string; target: SocketTarget }>> {
    return [...this.table]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([token, target]) => ({ token, target }));
  }

  /** Replaces the token's line (or appends one), keeping comments and the order of other lines. */
  async set(token: string, target: SocketTarget): Promise<void> {
    await this.rewrite((lines) => {
      const line = formatTokenLine(token, target);
      const first = lines.findIndex((l) => lineToken(l) === token);
      if (first < 0) return [...lines, line];
      return lines.flatMap((l, i) => (i === first ? [line] : lineToken(l) === token ? [] : [l]));
    });
  }

  async remove(token: string): Promise<boolean> {
    let found = false;
    await this.rewrite((lines) =>
      lines.filter((l) => {
        const mine = lineToken(l) === token;
        found ||= mine;
        return !mine;
      }),
    );
    return found;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
    await this.reloading;
  }

  /**
   * Watches the containing directory rather than the file: editors and `mv` replace the file, and a watch
   * on the old inode would go silent.
   */
  private async startWatching(): Promise<void> {
    const source = this.options.source;
    const isDir = (await stat(source)).isDirectory();
    const dir = isDir ? source : dirname(source);
    const name = basename(source);
    this.watcher = watch(dir, { persistent: true }, (_event, filename) => {
      if (!isDir && filename !== null && filename !== name) return;
      this.scheduleReload();
    });
    this.watcher.on('error', (err) => {
      this.options.log.warn('tokens.watch_failed', { source, error: describeError(err) });
    });
  }

  private scheduleReload(): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.reload(), this.options.debounceMs ?? 100);
  }

  /** Reloads now; concurrent calls coalesce into one more run after the current one. */
  private reload(): void {
    if (this.reloading) {
      this.reloadAgain = true;
      return;
    }
    this.reloading = this.reloadOnce().finally(() => {
      this.reloading = undefined;
      if (this.reloadAgain && !this.closed) {
        this.reloadAgain = false;
        this.reload();
      }
    });
  }

  private async reloadOnce(): Promise<void> {
    const { log, source } = this.options;
    let problems: readonly string[] = [];
    try {
      const table = await loadTokenSource(source);
      if (this.closed) return;
      // `>` redirections and most editors truncate before writing: an empty read of a table that was not
      // empty is confirmed by a second read after the quiet period before every token is dropped.
      if (table.size === 0 && this.table.size > 0 && !this.emptyPending) {
        this.emptyPending = true;
        log.debug('tokens.reload_empty', { source, confirm_in_ms: this.options.debounceMs ?? 100 });
        this.scheduleReload();
        return;
      }
      this.emptyPending = false;
      this.table = table;
      log.info('tokens.reloaded', { source, tokens: table.size });
    } catch (err) {
      problems = err instanceof TokenFileError ? err.problems : [describeError(err)];
      // Each problem on its own line, so that `file:line` can be found by whoever broke the file.
      for (const problem of problems.slice(0, 20)) log.warn('tokens.reload_failed', { problem });
      log.warn('tokens.reload_kept_previous', { source, tokens: this.table.size });
    }
    this.options.onReload?.(problems);
  }

  private async rewrite(edit: (lines: string[]) => string[]): Promise<void> {
    // Edit the file a symlink points to, rather than replacing the link with a copy.
    const file = await realpath(this.options.source);
    const info = await stat(file);
    if (info.isDirectory()) {
      throw new ConfigError(`${file} is a directory of token files: name the file to edit`);
    }
    const text = await readFile(file, 'utf8');
    const lines = text.split(/\r?\n/);
    if (lines.at(-1) === '') lines.pop();
    const next = `${edit(lines).join('\n')}\n`;
    const parsed = parseTokenFile(next, file);
    if (parsed.errors.length > 0) throw new TokenFileError(parsed.errors);
    // Write then rename, so that a reader (this store's watcher, websockify) never sees half a file.
    const temp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
    await writeFile(temp, next, { mode: info.mode & 0o777 });
    await rename(temp, file);
    this.table = parsed.table;
  }
}
