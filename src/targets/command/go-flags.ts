/**
 * Command lines parsed as Go's `flag` package does, so that a websocketd command line means the same to
 * wstcp: `-x` and `--x` alike, `--x=v` or `--x v` (booleans only `--x` or `--x=false`), parsing stops at
 * the first argument that is not a flag (the COMMAND) or after `--`, and a repeated flag overrides
 * (lists collect).
 */

export type FlagType = 'bool' | 'string' | 'int' | 'uint' | 'list';

/** A flag's problem, with Go's wording; callers make it one line naming the command. */
export class FlagError extends Error {}

export interface ParsedFlags {
  /** Each flag given, with every value in order (one per occurrence). */
  readonly values: ReadonlyMap<string, readonly string[]>;
  /** The arguments after the flags. */
  readonly rest: readonly string[];
  /** `-h`/`-help` was given and is not a defined flag. */
  readonly help: boolean;
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Parses `argv` against `specs`; throws FlagError for an unknown flag, a missing or invalid value. */
export function parseGoFlags(
  argv: readonly string[],
  specs: Readonly<Record<string, FlagType>>,
): ParsedFlags {
  const values = new Map<string, string[]>();
  let help = false;
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg.length < 2 || arg[0] !== '-') break;
    i++;
    if (arg === '--') break;
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    if (body === '' || body[0] === '-' || body[0] === '=') throw new FlagError(`bad flag syntax: ${arg}`);
    const equals = body.indexOf('=');
    const name = equals < 0 ? body : body.slice(0, equals);
    const type = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (type === undefined) {
      if (name === 'help' || name === 'h') {
        help = true;
        continue;
      }
      throw new FlagError(`flag provided but not defined: -${name}`);
    }
    let value: string;
    if (equals >= 0) {
      value = body.slice(equals + 1);
    } else if (type === 'bool') {
      value = 'true';
    } else {
      if (i >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
      value = argv[i++]!;
    }
    values.set(name, [...(values.get(name) ?? []), checked(name, type, value)]);
  }
  return { values, rest: argv.slice(i), help };
}

function checked(name: string, type: FlagType, value: string): string {
  const invalid = () => new FlagError(`invalid value "${value}" for flag -${name}`);
  switch (type) {
    case 'bool':
      if (TRUE.has(value)) return 'true';
      if (FALSE.has(value)) return 'false';
      throw invalid();
    case 'int':
      if (!/^[+-]?\d+$/.test(value)) throw invalid();
      return String(Number(value));
    case 'uint':
      if (!/^\+?\d+$/.test(value)) throw invalid();
      return String(Number(value));
    default:
      return value;
  }
}
