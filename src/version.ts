/** wstcp's version, from its package.json (for --version and SERVER_SOFTWARE). */
import { readFileSync } from 'node:fs';

let version: string | undefined;

export function packageVersion(): string {
  if (version === undefined) {
    const url = new URL('../../package.json', import.meta.url);
    version = (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  }
  return version;
}
