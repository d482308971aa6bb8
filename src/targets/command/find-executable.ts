/** Finding a program as execvp would: checked at startup, so that each start execs one path. */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

/** The executable file `program` names, directly or on `path` (as execvp looks it up), or undefined. */
export async function findExecutable(program: string, path: string): Promise<string | undefined> {
  const candidates = program.includes('/')
    ? [program]
    : path
        .split(delimiter)
        .filter((dir) => isAbsolute(dir))
        .map((dir) => join(dir, program));
  for (const candidate of candidates) {
    const found = await stat(candidate).catch(() => undefined);
    if (!found?.isFile()) continue;
    const executable = await access(candidate, constants.X_OK).then(
      () => true,
      () => false,
    );
    if (executable) return candidate;
  }
  return undefined;
}
