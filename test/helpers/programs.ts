/**
 * Tests that need a system program (redis-server, chromium, Xtigervnc, websockify) call `requireProgram`.
 * Locally a missing program skips the test with the reason; under CI=true it fails the test instead,
 * because CI installs everything and a skip there would hide a broken install step.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

export function findProgram(name: string): string | undefined {
  if (name.includes('/')) {
    try {
      accessSync(name, constants.X_OK);
      return name;
    } catch {
      return undefined;
    }
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/**
 * Returns the program's path, or skips the test (locally) / throws (CI=true) when it is missing.
 * Use as: `const redis = requireProgram(t, 'redis-server'); if (!redis) return;`
 */
export function requireProgram(t: TestContext, name: string, install = name): string | undefined {
  const path = findProgram(name);
  if (path) return path;
  const why = `${name} is not installed (apt-get install ${install})`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${why}`);
  t.skip(`SKIPPED: ${why}`);
  return undefined;
}
