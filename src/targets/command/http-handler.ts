/**
 * Plain HTTP requests on a bridge that runs programs, in websocketd's order: the dev console (--dev-console,
 * every path), then CGI scripts (--cgi-dir), then static files (--web), then 404.
 */
import type { HttpHandler } from '../../admission/pipeline.js';
import { refuse } from '../../errors.js';
import { answerRefusal } from '../../front/refusal.js';
import type { Logger } from '../../observe/log.js';
import { serveCgi } from './cgi.js';
import { serveDevConsole } from './dev-console.js';
import type { CommandLauncher } from './launcher.js';
import { ScriptDir } from './script-dir.js';

export interface CommandHttpOptions {
  readonly launcher: CommandLauncher;
  /** Static files or the viewer (--web, --novnc), when configured. */
  readonly web: HttpHandler | undefined;
  readonly log: Logger;
}

/** The handler, or undefined when none of --dev-console, --cgi-dir or --web applies. */
export function commandHttpHandler(options: CommandHttpOptions): HttpHandler | undefined {
  const { launcher, web, log } = options;
  const { devConsole, cgiDir, closeMs, reverseLookup } = launcher.config;
  let handler: HttpHandler | undefined = web;
  if (devConsole) {
    handler = (req, res) => {
      if (req.method === 'GET' || req.method === 'HEAD') serveDevConsole(req, res);
      else
        answerRefusal(res, refuse('WEB_METHOD_NOT_ALLOWED', undefined, { headers: { Allow: 'GET, HEAD' } }));
    };
  } else if (cgiDir !== undefined) {
    const cgi = {
      dir: new ScriptDir(cgiDir),
      forks: launcher.forks,
      closeMs,
      reverseLookup,
      log,
      environment: () => launcher.environment(),
    };
    const fallback: HttpHandler = web ?? ((_req, res) => answerRefusal(res, refuse('WEB_NOT_FOUND')));
    handler = (req, res) => {
      serveCgi(req, res, cgi).then(
        (served) => {
          if (!served) fallback(req, res);
        },
        (err: unknown) => {
          log.error('cgi.failed', { error: String(err) });
          answerRefusal(res, refuse('INTERNAL', 'internal error while running the CGI script'));
        },
      );
    };
  }
  return handler;
}
