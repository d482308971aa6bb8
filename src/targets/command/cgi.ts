/**
 * --cgi-dir DIR: CGI/1.1 for plain HTTP requests, as websocketd's --cgidir. The URL picks an executable
 * under DIR the way --dir does (script-dir.ts); the request body is the script's stdin; the script's output
 * starts with header lines (`Status: 404 Not Found`, `Content-Type: ...`, `Location: ...`), then a blank
 * line, then the body, which is streamed to the client as it comes (with backpressure).
 *
 * Each script counts against --max-forks. A client that goes away ends the script with the usual teardown.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError, HttpError, refuse } from '../../errors.js';
import { answerRefusal } from '../../front/refusal.js';
import type { Logger } from '../../observe/log.js';
import { cgiEnvironment, type EnvironmentSettings } from './environment.js';
import type { ForkLimit } from './fork-limit.js';
import { readLines } from './line-splitter.js';
import type { Program } from './program.js';
import { requestFacts } from './request-facts.js';
import type { ScriptDir } from './script-dir.js';
import { startProgram } from './spawn.js';
import { stopProgram } from './teardown.js';

export interface CgiOptions {
  readonly dir: ScriptDir;
  readonly forks: ForkLimit;
  readonly closeMs: number;
  readonly reverseLookup: boolean;
  readonly log: Logger;
  /** The environment settings shared with command targets; UNIQUE_ID is made per request. */
  readonly environment: () => EnvironmentSettings;
}

/** The most header bytes a script may write before its blank line. */
const MAX_HEADER_BYTES = 64 * 1024;

/**
 * Runs the script `req` names. Resolves false, having answered nothing, when no script matches (the
 * caller goes on to static files or 404); true once the response is complete or abandoned.
 */
export async function serveCgi(
  req: IncomingMessage,
  res: ServerResponse,
  options: CgiOptions,
): Promise<boolean> {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  const script = await options.dir.resolve(query < 0 ? url : url.slice(0, query));
  if (!script) return false;
  let release: () => void;
  try {
    release = options.forks.acquire();
  } catch (err) {
    answerError(res, err);
    return true;
  }
  let child: Program;
  try {
    const facts = await requestFacts(req, options.reverseLookup);
    const env = cgiEnvironment(facts, script, options.environment());
    env.CONTENT_LENGTH = req.headers['content-length'] ?? '';
    env.CONTENT_TYPE = req.headers['content-type'] ?? '';
    env.SCRIPT_FILENAME = script.file;
    child = await startProgram({ argv: [script.file], env });
  } catch (err) {
    release();
    options.log.warn('cgi.failed', { script: script.scriptName, error: describeError(err) });
    answerError(res, err);
    return true;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(release);
  logStderr(child, script.scriptName, options.log);
  req.pipe(child.stdin);
  child.stdin.on('error', () => {});
  const stop = () => void stopProgram(child, exited, options.closeMs);
  // A client that leaves before the response is complete ends the script.
  res.once('close', () => {
    if (!res.writableFinished) {
      child.stdout.destroy();
      stop();
    }
  });
  await relayOutput(child, res, script.scriptName, options.log);
  stop();
  return true;
}

/** Reads the header block, answers with it, then pipes the rest of stdout as the body. */
function relayOutput(child: Program, res: ServerResponse, scriptName: string, log: Logger): Promise<void> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
      const head = Buffer.concat(chunks);
      const end = headerEnd(head);
      if (end === undefined) {
        if (bytes > MAX_HEADER_BYTES) fail('its headers are too long');
        return;
      }
      child.stdout.removeListener('data', onData);
      child.stdout.removeListener('end', onEnd);
      const parsed = parseHeaders(head.subarray(0, end.start).toString('latin1'));
      if (!parsed) {
        fail('it wrote a malformed header line');
        return;
      }
      res.writeHead(parsed.status, parsed.statusText, parsed.headers.flat());
      const body = head.subarray(end.bodyStart);
      if (body.length > 0) res.write(body);
      child.stdout.pipe(res);
    };
    const onEnd = () => fail('it wrote no header block');
    const fail = (why: string) => {
      child.stdout.removeListener('data', onData);
      child.stdout.removeListener('end', onEnd);
      child.stdout.resume();
      log.warn('cgi.bad_output', { script: scriptName, reason: why });
      if (!res.headersSent) {
        res.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(`502 Bad Gateway: the CGI script failed (${why})\n`);
      }
      resolve();
    };
    child.stdout.on('data', onData);
    child.stdout.once('end', onEnd);
    // Output complete, or abandoned because the client left.
    child.stdout.once('close', () => resolve());
  });
}

/** Where the header block ends: a blank line, `\n\n` or `\r\n\r\n`. */
function headerEnd(head: Buffer): { start: number; bodyStart: number } | undefined {
  const lf = head.indexOf('\n\n');
  const crlf = head.indexOf('\r\n\r\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { start: crlf, bodyStart: crlf + 4 };
  if (lf >= 0) return { start: lf, bodyStart: lf + 2 };
  return undefined;
}

interface ParsedHeaders {
  status: number;
  statusText: string | undefined;
  headers: [string, string][];
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** RFC 3875 6.3: Status sets the code, Location alone means 302, every other field goes to the client. */
export function parseHeaders(block: string): ParsedHeaders | undefined {
  let status: number | undefined;
  let statusText: string | undefined;
  let location = false;
  const headers: [string, string][] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (!TOKEN.test(name) || /[\r\n\0]/.test(value)) return undefined;
    if (name.toLowerCase() === 'status') {
      const match = /^(\d{3})(?:\s+(.*))?$/.exec(value);
      if (!match) return undefined;
      status = Number(match[1]);
      if (status < 100 || status > 999) return undefined;
      statusText = match[2] || undefined;
      continue;
    }
    if (name.toLowerCase() === 'location') location = true;
    headers.push([name, value]);
  }
  return { status: status ?? (location ? 302 : 200), statusText, headers };
}

function logStderr(child: Program, script: string, log: Logger): void {
  readLines(child.stderr, (line) => log.warn('cgi.stderr', { script, line }));
}

function answerError(res: ServerResponse, err: unknown): void {
  answerRefusal(
    res,
    err instanceof HttpError ? err : refuse('INTERNAL', 'internal error while running the CGI script'),
  );
}
