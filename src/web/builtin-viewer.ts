/**
 * The URL space of `--novnc`: our page at `/` and `/vnc.html`, its script and style under `/novnc/`,
 * and noVNC's own ES modules at `/novnc/core/` and `/novnc/vendor/`, where the page's relative imports
 * (`./core/rfb.js`) find them. These paths win over files of the same name under `--web DIR`.
 */
import { join } from 'node:path';
import { novncPackageDir, viewerAssetsDir } from './assets.js';
import { FileRoot } from './file-root.js';

/** A file root and the segments to look up below it. */
export interface Route {
  readonly root: FileRoot;
  readonly segments: readonly string[];
}

export class BuiltInViewer {
  private readonly page: FileRoot;
  private readonly core: FileRoot;
  private readonly vendor: FileRoot;

  constructor() {
    const novnc = novncPackageDir();
    this.page = new FileRoot(viewerAssetsDir(), { listing: false }, '--novnc');
    this.core = new FileRoot(join(novnc, 'core'), { listing: false }, '--novnc');
    this.vendor = new FileRoot(join(novnc, 'vendor'), { listing: false }, '--novnc');
  }

  /** The route for a request path, or undefined when the path is not the viewer's. */
  route(segments: readonly string[]): Route | undefined {
    const [first, second, ...rest] = segments;
    if (first === undefined) return { root: this.page, segments: ['vnc.html'] };
    if (segments.length === 1 && first === 'vnc.html') return { root: this.page, segments };
    if (first !== 'novnc') return undefined;
    if (second === 'core') return { root: this.core, segments: rest };
    if (second === 'vendor') return { root: this.vendor, segments: rest };
    return { root: this.page, segments: segments.slice(1) };
  }
}
