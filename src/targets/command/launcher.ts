/**
 * What a bridge with --cmd or --dir needs to start one program per session: the command (or the script
 * directory), the environment settings, the --max-forks count and the settings of every program stream.
 * One launcher per bridge, made when the bridge is assembled; `open` runs during each handshake, after the
 * gates, so that a refused client never starts anything.
 */
import { stat } from 'node:fs/promises';
import type { HandshakeContext } from '../../admission/pipeline.js';
import { ConfigError, refuse } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { packageVersion } from '../../version.js';
import { cgiEnvironment, type EnvironmentSettings, passedEnvironment } from './environment.js';
import { findExecutable } from './find-executable.js';
import { ForkLimit } from './fork-limit.js';
import { type ProgramSettings, ProgramStream } from './program-stream.js';
import { requestFacts } from './request-facts.js';
import { ScriptDir } from './script-dir.js';
import { startProgram } from './spawn.js';
import { Spawner } from './spawner/spawner.js';
import { decodePath } from './url-path.js';
import { quoteWords } from './words.js';

/** The command-target flags, as config.ts validated them. Commands come from these flags only. */
export interface CommandConfig {
  /** --cmd: the program and its arguments (split into words, no shell). */
  readonly argv: readonly string[] | undefined;
  /** --dir: the directory whose executables the URL path picks (absolute). */
  readonly dir: string | undefined;
  readonly binary: boolean;
  readonly closeMs: number;
  readonly maxForks: number | undefined;
  /** --pass-env: the names of wstcp's own variables that programs get (comma-separated). */
  readonly passEnv: string;
  readonly reverseLookup: boolean;
  readonly devConsole: boolean;
  /** --cgi-dir: CGI scripts for plain HTTP requests (absolute). */
  readonly cgiDir: string | undefined;
}

export class CommandLauncher {
  readonly forks: ForkLimit;
  /** Forks the programs of WebSocket sessions, off this event loop (spawner/); undefined without Perl. */
  private spawner: Spawner | undefined;
  private readonly log: Logger;
  private readonly scripts: ScriptDir | undefined;
  private readonly settings: ProgramSettings;
  private readonly passed: Readonly<Record<string, string>>;
  /** --cmd's argv with the program's path looked up once (check()), as websocketd does at startup. */
  private argv: readonly string[] | undefined;
  private sessions = 0;

  constructor(
    readonly config: CommandConfig,
    log: Logger,
    maxLineBytes: number,
  ) {
    this.forks = new ForkLimit(config.maxForks);
    this.log = log;
    this.scripts = config.dir === undefined ? undefined : new ScriptDir(config.dir);
    this.settings = { binary: config.binary, closeMs: config.closeMs, maxLineBytes, log };
    this.passed = passedEnvironment(config.passEnv);
    this.argv = config.argv;
  }

  /**
   * Checks at startup what websocketd checks: the command can be found and run, the directories exist.
   * Throws ConfigError (wstcp exits before listening).
   */
  async check(): Promise<void> {
    const { argv, dir, cgiDir } = this.config;
    if (argv) {
      const program = argv[0]!;
      const found = await findExecutable(program, process.env.PATH ?? '');
      if (!found) throw new ConfigError(`--cmd: ${program} was not found or is not executable`);
      // Each start then execs one path instead of trying every PATH directory in turn.
      this.argv = [found, ...argv.slice(1)];
    }
    for (const [flag, path] of [
      ['--dir', dir],
      ['--cgi-dir', cgiDir],
    ] as const) {
      if (path !== undefined && !(await stat(path).catch(() => undefined))?.isDirectory()) {
        throw new ConfigError(`${flag}: ${path} is not a directory`);
      }
    }
    const spawner = new Spawner(this.log);
    if (await spawner.warm()) this.spawner = spawner;
  }

  /** Once the bridge's sessions have ended (their programs with them): ends the fork servers. */
  close(): void {
    this.spawner?.close();
    this.spawner = undefined;
  }

  /** For log lines: the command as the user wrote it, or the directory. */
  describe(): string {
    return this.config.argv ? `command:${quoteWords(this.config.argv)}` : `dir:${this.config.dir}`;
  }

  /** The environment settings of one program (a fresh UNIQUE_ID each time). */
  environment(): EnvironmentSettings {
    return {
      serverSoftware: `wstcp/${packageVersion()}`,
      passed: this.passed,
      uniqueId: uniqueId(++this.sessions),
    };
  }

  /**
   * Starts the program for the handshake `ctx`. Rejects with COMMAND_NOT_FOUND (404) when --dir has no
   * script at the path, TOO_MANY_PROGRAMS (429) beyond --max-forks, COMMAND_FAILED (500) when it cannot
   * start; nothing is left running then.
   */
  async open(ctx: HandshakeContext, signal: AbortSignal): Promise<ProgramStream> {
    // The path as sent: --dir walks it segment by segment itself (ctx.url has `..` already resolved).
    const url = ctx.req.url ?? '/';
    const query = url.indexOf('?');
    const rawPath = query < 0 ? url : url.slice(0, query);
    let argv: readonly string[];
    let script: { scriptName: string; pathInfo: string };
    if (this.scripts) {
      const match = await this.scripts.resolve(rawPath);
      if (!match) throw refuse('COMMAND_NOT_FOUND', 'no program at this path');
      argv = [match.file];
      script = match;
    } else {
      argv = this.argv!;
      script = { scriptName: '/', pathInfo: decodePath(rawPath) ?? rawPath };
    }
    const release = this.forks.acquire();
    try {
      const client = { address: ctx.clientAddress, port: ctx.clientPort };
      const facts = await requestFacts(ctx.req, this.config.reverseLookup, client);
      const env = cgiEnvironment(facts, script, this.environment());
      const child = await startProgram({ argv, env, signal, spawner: this.spawner });
      return new ProgramStream(child, this.settings, release);
    } catch (err) {
      release();
      throw err;
    }
  }
}

/** Like websocketd's (nanoseconds since the epoch), unique within this process. */
function uniqueId(count: number): string {
  return `${BigInt(Date.now()) * 1_000_000n + BigInt(count % 1_000_000)}`;
}
