/** Temporary directories that a test removes when it ends. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  readonly dir: string;
  /** Writes `text` to `name` in the directory; returns the file's path. */
  write(name: string, text: string): string;
}

/** A fresh directory under the system temp dir, removed (recursively) after the test. */
export function tempDir(t: { after(fn: () => void): void }, prefix = 'wstcp-'): TempDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    write(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
  };
}
