/**
 * Where the built-in viewer's files live: our page in `web/viewer` of this package, and noVNC's ES
 * modules in the installed `@novnc/novnc` package (found through module resolution, so hoisted and
 * nested node_modules layouts both work).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'wstcp-bridge';

/** The directory of the installed `@novnc/novnc` package (it holds `core/` and `vendor/`). */
export function novncPackageDir(): string {
  // The package exports only core/rfb.js, so its directory is two levels above that file.
  const entry = fileURLToPath(import.meta.resolve('@novnc/novnc'));
  return dirname(dirname(entry));
}

/** The directory of our own viewer page (`web/viewer` next to this package's package.json). */
export function viewerAssetsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  // Compiled code sits in dist/src/web and sources in src/web: walk up to the package root either way.
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && readPackageName(manifest) === PACKAGE_NAME) return join(dir, 'web', 'viewer');
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`${PACKAGE_NAME}: cannot find the package root holding web/viewer`);
    dir = parent;
  }
}

function readPackageName(manifest: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name;
  } catch {
    return undefined;
  }
}
