/**
 * Watches a set of files for changes, debounced. Directories are watched rather than the files themselves:
 * certbot and most deploy tools replace a certificate by renaming a new file (or a symlink) over the old
 * one, which ends a watch on the old inode.
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

export interface FileWatch {
  close(): void;
}

/**
 * Calls `onChange` once, `debounceMs` after the last change to any of `files` (several files changing
 * together, as a certificate and its key do, give one call). `onError` gets watch failures, which never throw.
 */
export function watchFiles(
  files: readonly string[],
  debounceMs: number,
  onChange: () => void,
  onError: (dir: string, err: Error) => void,
): FileWatch {
  const namesByDir = new Map<string, Set<string>>();
  for (const file of files) {
    const path = resolve(file);
    const dir = dirname(path);
    const names = namesByDir.get(dir) ?? new Set<string>();
    names.add(basename(path));
    namesByDir.set(dir, names);
  }

  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
    timer.unref();
  };

  const watchers: FSWatcher[] = [];
  for (const [dir, names] of namesByDir) {
    try {
      const watcher = watch(dir, { persistent: false }, (_event, name) => {
        // Some platforms report no name; a spurious reload is harmless, a missed one is not.
        if (name === null || names.has(String(name))) schedule();
      });
      watcher.on('error', (err) => onError(dir, err));
      watchers.push(watcher);
    } catch (err) {
      onError(dir, err as Error);
    }
  }

  return {
    close() {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
