/**
 * One directory served as static files. serve-handler does the serving (content types, ETag, ranges,
 * 304s, listings); this class decides first what may be served at all, because serve-handler alone
 * would follow symlinks out of the root, hang on FIFOs, redirect `/vnc.html` to `/vnc` (dropping the
 * query noVNC needs) and answer errors with HTML pages.
 */
import { createReadStream, type ReadStream, realpathSync, statSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, relative, sep } from 'node:path';
import serveHandler from 'serve-handler';
import { ConfigError } from '../errors.js';
import { encodeSegments } from './request-path.js';
import { sendRedirect, sendRefusal } from './respond.js';

export interface FileRootOptions {
  /** Render an HTML listing for directories without index.html (--web-listing); otherwise 404. */
  readonly listing: boolean;
}

interface Found {
  readonly realPath: string;
  readonly isDirectory: boolean;
  readonly mtime: Date;
}

/** What a request asks of a root: the segments below it and how the client spelled the URL. */
export interface FileRequest {
  readonly segments: readonly string[];
  readonly trailingSlash: boolean;
  /** The full public path of the request (all segments, mount included), for the trailing-slash redirect. */
  readonly publicSegments: readonly string[];
  readonly query: string;
}

const INDEX = 'index.html';

/** serve-handler options shared by every root. */
const SERVE_OPTIONS = {
  // On, serve-handler would redirect /vnc.html to /vnc and drop the query noVNC reads its settings from.
  cleanUrls: false,
  unlisted: ['.*'],
  // Symlinks were resolved and checked by locate(); serve-handler only ever sees real paths.
  symlinks: false,
  etag: true,
  headers: [
    {
      source: '**',
      headers: [
        // Revalidate every time: URLs are not versioned, and a 304 costs one round trip.
        { key: 'Cache-Control', value: 'no-cache' },
        { key: 'X-Content-Type-Options', value: 'nosniff' },
      ],
    },
  ],
};

type ReadStreamOptions = Parameters<typeof createReadStream>[1];

export class FileRoot {
  /** The root with symlinks resolved: every served file's real path must lie inside it. */
  readonly root: string;
  private readonly listing: boolean;

  /** Throws ConfigError naming `flag` when `dir` is not a readable directory. */
  constructor(dir: string, options: FileRootOptions, flag = '--web') {
    try {
      this.root = realpathSync(dir);
      if (!statSync(this.root).isDirectory()) throw new ConfigError(`${flag}: ${dir} is not a directory`);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(
        `${flag}: directory ${dir} cannot be opened (${(err as NodeJS.ErrnoException).code})`,
      );
    }
    this.listing = options.listing;
  }

  /** Serves one GET or HEAD request; answers 404 for anything missing, hidden or outside the root. */
  async serve(req: IncomingMessage, res: ServerResponse, request: FileRequest): Promise<void> {
    const found = await this.locate(request.segments);
    if (!found) return sendRefusal(res, 'NOT_FOUND');
    if (!found.isDirectory) return this.sendFile(req, res, found);
    if (!request.trailingSlash && request.publicSegments.length > 0) {
      return sendRedirect(res, encodeSegments(request.publicSegments, true) + request.query);
    }
    const index = await this.locate([...request.segments, INDEX]);
    if (index && !index.isDirectory) return this.sendFile(req, res, index);
    if (!this.listing) return sendRefusal(res, 'NOT_FOUND');
    return this.handOver(req, res, found, {});
  }

  /** Resolves segments to a regular file or directory whose real path is inside the root. */
  private async locate(segments: readonly string[]): Promise<Found | undefined> {
    try {
      const realPath = await realpath(join(this.root, ...segments));
      if (realPath !== this.root && !realPath.startsWith(this.root + sep)) return undefined;
      const stats = await stat(realPath);
      if (!stats.isFile() && !stats.isDirectory()) return undefined;
      return { realPath, isDirectory: stats.isDirectory(), mtime: stats.mtime };
    } catch {
      return undefined;
    }
  }

  private sendFile(req: IncomingMessage, res: ServerResponse, found: Found): Promise<void> {
    const lastModified = found.mtime.toUTCString();
    const since = req.headers['if-modified-since'];
    // ETag (If-None-Match) is handled by serve-handler and wins when both are sent (RFC 9110 13.2.2).
    if (since && !req.headers['if-none-match'] && !req.headers.range) {
      const sinceMs = Date.parse(since);
      if (!Number.isNaN(sinceMs) && Math.floor(found.mtime.getTime() / 1000) * 1000 <= sinceMs) {
        res.writeHead(304, { 'Last-Modified': lastModified, 'Cache-Control': 'no-cache' });
        res.end();
        return Promise.resolve();
      }
    }
    return this.handOver(req, res, found, {
      'Last-Modified': lastModified,
      'Content-Type': 'application/octet-stream',
    });
  }

  /**
   * Lets serve-handler answer for a path already checked. Headers set here are defaults that
   * serve-handler's own (Content-Type, ETag) override.
   */
  private async handOver(
    req: IncomingMessage,
    res: ServerResponse,
    found: Found,
    defaults: Record<string, string>,
  ): Promise<void> {
    for (const [name, value] of Object.entries(defaults)) res.setHeader(name, value);
    const rel = relative(this.root, found.realPath);
    const segments = rel === '' ? [] : rel.split(sep);
    // serve-handler reads only `url` and `headers`; it gets the checked real path, never the client's.
    const checked = {
      url: encodeSegments(segments, found.isDirectory),
      headers: req.headers,
    } as IncomingMessage;
    await serveHandler(
      checked,
      res,
      { ...SERVE_OPTIONS, public: this.root, directoryListing: this.listing },
      {
        createReadStream: ((path: string, options?: ReadStreamOptions) =>
          ownedReadStream(res, path, options)) as typeof createReadStream,
        // serve-handler calls this only for 404s (a file that vanished since locate()).
        sendError: async () => sendRefusal(res, 'NOT_FOUND'),
      },
    );
  }
}

/**
 * A read stream owned by the response: destroyed when the response closes (serve-handler opens one and
 * abandons it when it answers 304), and a read error ends the response instead of crashing the process.
 */
function ownedReadStream(res: ServerResponse, path: string, options?: ReadStreamOptions): ReadStream {
  const stream = createReadStream(path, options);
  stream.on('error', () => sendRefusal(res, 'READ_FAILED'));
  res.once('close', () => stream.destroy());
  return stream;
}
