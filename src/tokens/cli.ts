/**
 * `wstcp tokens ...`: check a token file, and read or edit any writable store (token file, token
 * directory, Redis) so that operators stop hand-editing files and Redis keys. Returns an exit code;
 * src/cli.ts does the exiting.
 */
import yargs from 'yargs';
import { AddressError } from '../address.js';
import { ConfigError, describeError, WstcpError } from '../errors.js';
import { Logger } from '../observe/log.js';
import { describeMembers } from '../targets/pool/member-report.js';
import { loadTokenSource, TokenFileError } from './file-store.js';
import { NATIVE_FORMS, openTokenStore } from './open-store.js';
import type { RedisValueFormat } from './redis-store.js';
import { parseStoredTarget } from './route-options.js';
import { isWritable, type TokenStore } from './store.js';
import { storedTargetText, tokenProblem } from './token-file-format.js';

/** Where the command writes; tests pass collectors. */
export interface CommandIO {
  out(line: string): void;
  err(line: string): void;
}

const processIO: CommandIO = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

interface StoreArgs {
  tokens?: string;
  'token-plugin'?: string;
  'token-source'?: string;
  'token-timeout': number;
  format: RedisValueFormat;
}

const USAGE = `wstcp tokens <command> [options]

The store is named as for the bridge: --tokens SPEC, or --token-plugin NAME --token-source ARG.
Writable stores (set, rm, list): token files, token directories (dir:), Redis.
TARGET is host:port, [v6]:port or unix_socket:/path.`;

async function openStore(args: StoreArgs): Promise<TokenStore> {
  const lookupTimeoutMs = Math.round(args['token-timeout'] * 1000);
  // A quiet logger: warnings (a Redis that is down) become the command's error instead.
  const log = new Logger({ level: 'error', sink: () => {} });
  if (args.tokens !== undefined) {
    if (args['token-plugin'] !== undefined)
      throw new ConfigError('--tokens and --token-plugin cannot be combined');
    return openTokenStore({ plugin: 'native', source: args.tokens, lookupTimeoutMs }, log, {
      watch: false,
      redisValueFormat: args.format,
    });
  }
  const plugin = args['token-plugin'];
  const source = args['token-source'];
  if (plugin === undefined || source === undefined) {
    throw new ConfigError('name the store: --tokens SPEC, or --token-plugin NAME --token-source ARG');
  }
  const name = plugin.slice(plugin.lastIndexOf('.') + 1);
  return openTokenStore({ plugin: name, source, lookupTimeoutMs }, log, {
    watch: false,
    redisValueFormat: args.format,
  });
}

async function withStore<T>(args: StoreArgs, run: (store: TokenStore) => Promise<T>): Promise<T> {
  const store = await openStore(args);
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

function requireToken(token: string): string {
  const problem = tokenProblem(token);
  if (problem) throw new ConfigError(`cannot store this token: ${problem}`);
  return token;
}

function requireTarget(text: string) {
  try {
    return parseStoredTarget(text);
  } catch (err) {
    if (err instanceof AddressError) throw new ConfigError(`TARGET: ${err.message}`);
    throw err;
  }
}

async function check(file: string, io: CommandIO): Promise<number> {
  try {
    const table = await loadTokenSource(file);
    for (const token of [...table.keys()].sort()) io.out(`${token}: ${storedTargetText(table.get(token)!)}`);
    io.err(`${file}: ${table.size} token(s), no problems`);
    return 0;
  } catch (err) {
    if (err instanceof TokenFileError) {
      for (const problem of err.problems) io.err(problem);
      return 1;
    }
    throw err;
  }
}

/**
 * Runs `wstcp tokens ARGS...`; resolves with the exit code (0 ok, 1 a check failed or a token is
 * missing, 2 bad usage or an unusable store).
 * @example
 * process.exitCode = await tokensCommand(['set', 'desk1', '10.0.0.5:5900', '--tokens', 'redis://127.0.0.1:6379/0']);
 */
export async function tokensCommand(args: readonly string[], io: CommandIO = processIO): Promise<number> {
  let code = 0;
  const parser = yargs([...args])
    .scriptName('wstcp tokens')
    .usage(USAGE)
    .options({
      tokens: { type: 'string', describe: `Token store: ${NATIVE_FORMS}` },
      'token-plugin': {
        type: 'string',
        describe: 'websockify plugin name (TokenFile, TokenFileName, TokenRedis, ...)',
      },
      'token-source': { type: 'string', describe: 'Argument of --token-plugin' },
      'token-timeout': { type: 'number', default: 5, describe: 'Seconds to wait for the store' },
      format: {
        choices: ['json', 'plain'] as const,
        default: 'json' as const,
        describe: 'How `set` writes Redis values (json is what every websockify version reads)',
      },
    })
    .command('check <file>', 'Validate a token file and print its table', {}, async (a) => {
      code = await check(String(a.file), io);
    })
    .command('list', 'Print every token of a writable store', {}, async (a) => {
      await withStore(a as unknown as StoreArgs, async (store) => {
        if (!isWritable(store)) throw new ConfigError(`${store.description} cannot be listed`);
        for (const { token, target } of await store.list()) io.out(`${token}: ${storedTargetText(target)}`);
      });
    })
    .command(
      'get <token>',
      'Print the target of a token (a pool: and whether each member answers)',
      {},
      async (a) => {
        await withStore(a as unknown as StoreArgs, async (store) => {
          const target = await store.lookup(String(a.token));
          if (target) {
            io.out(storedTargetText(target));
            if (target.kind === 'pool') {
              const timeoutMs = Math.round(Number(a['token-timeout']) * 1000);
              for (const line of await describeMembers(target, timeoutMs)) io.out(line);
            }
          } else {
            io.err('no such token');
            code = 1;
          }
        });
      },
    )
    .command('set <token> <target>', 'Add or replace a token', {}, async (a) => {
      const token = requireToken(String(a.token));
      const target = requireTarget(String(a.target));
      await withStore(a as unknown as StoreArgs, async (store) => {
        if (!isWritable(store)) throw new ConfigError(`${store.description} is read-only`);
        await store.set(token, target);
      });
    })
    .command('rm <token>', 'Remove a token', {}, async (a) => {
      await withStore(a as unknown as StoreArgs, async (store) => {
        if (!isWritable(store)) throw new ConfigError(`${store.description} is read-only`);
        if (!(await store.remove(String(a.token)))) {
          io.err('no such token');
          code = 1;
        }
      });
    })
    .demandCommand(1, 'give a command: check, list, get, set or rm')
    .strict()
    .help('help')
    .alias('help', 'h')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((message, err) => {
      throw err ?? new ConfigError(message);
    });
  try {
    const parsed = await parser.parseAsync();
    if ((parsed as { help?: boolean }).help) return 0;
    return code;
  } catch (err) {
    io.err(`wstcp tokens: ${err instanceof WstcpError ? err.message : describeError(err)}`);
    return err instanceof ConfigError ? 2 : 1;
  }
}
