/**
 * The command line's words checked against the option table before yargs reads them, so that every
 * mistake is one line naming the flag as the user wrote it: an unknown flag (with the nearest known one),
 * a flag whose value is missing (yargs would take the next positional argument as the value and report
 * "missing target"), a number that is not one, a value outside a flag's choices.
 */
import type { Options } from 'yargs';
import { UsageError } from '../errors.js';

type Spec = Pick<Options, 'type' | 'alias' | 'choices'>;

/** Flags yargs adds itself. */
const BUILTIN: Record<string, Spec> = { help: { type: 'boolean', alias: 'h' }, version: { type: 'boolean' } };

/** Throws a UsageError for the first word that cannot be a valid flag or flag value. */
export function checkArgv(argv: readonly string[], specs: Record<string, Spec>): void {
  const all: Record<string, Spec> = { ...specs, ...BUILTIN };
  const shortNames = new Map<string, string>();
  for (const [name, spec] of Object.entries(all)) {
    for (const alias of [spec.alias ?? []].flat()) shortNames.set(alias, name);
  }
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') return;
    if (!word.startsWith('-') || word === '-' || isNumber(word)) continue;
    const eq = word.indexOf('=');
    const written = eq < 0 ? word : word.slice(0, eq);
    const bare = written.replace(/^--?/, '');
    let name = written.startsWith('--') ? bare : shortNames.get(bare);
    let negated = false;
    if (
      name !== undefined &&
      !(name in all) &&
      name.startsWith('no-') &&
      all[name.slice(3)]?.type === 'boolean'
    ) {
      name = name.slice(3);
      negated = true;
    }
    const spec = name === undefined ? undefined : all[name];
    if (name === undefined || spec === undefined) throw unknownFlag(written, Object.keys(all));
    if (spec.type === 'boolean' || negated) continue;
    let value: string | undefined;
    if (eq >= 0) value = word.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('-') && next !== '-' && !isNumber(next)))
        throw new UsageError(`${written} needs a value${spec.type === 'number' ? ' (a number)' : ''}`);
      value = next;
      i++;
    }
    if (spec.type === 'number' && !isNumber(value))
      throw new UsageError(`${written} needs a number, not "${value}"`);
    const choices = spec.choices as readonly string[] | undefined;
    if (choices && !choices.includes(value))
      throw new UsageError(`${written} must be one of ${choices.join(', ')}, not "${value}"`);
  }
}

function isNumber(word: string): boolean {
  return word.trim() !== '' && Number.isFinite(Number(word));
}

function unknownFlag(written: string, names: readonly string[]): UsageError {
  const near = nearest(written.replace(/^--?/, ''), names);
  return new UsageError(`unknown option ${written}${near ? ` (did you mean --${near}?)` : ''}`);
}

/** The known name closest to `word` (edit distance at most 2, or a prefix of it), if any. */
function nearest(word: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of names) {
    const distance = name.startsWith(word) && word.length >= 3 ? 1 : editDistance(word, name);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, substitution));
    }
    previous = row;
  }
  return previous[b.length]!;
}
