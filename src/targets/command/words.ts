/**
 * `--cmd 'COMMAND ARGS'` as words, the way a POSIX shell would split them but with nothing expanded: no
 * variables, globs, pipes or redirections (a user who wants those writes `sh -c '...'`). Single quotes keep
 * everything literally, double quotes keep everything but `\"`, `\\`, `\$` and `` \` ``, and a backslash
 * outside quotes keeps the next character.
 */

/** Thrown for an unterminated quote or an empty command; callers name the flag. */
export class WordsError extends Error {}

const SPACE = /\s/;
const DOUBLE_QUOTED_ESCAPES = new Set(['"', '\\', '$', '`']);

/**
 * Splits `text` into words.
 * @example splitWords(`python3 -u 'my script.py' --name "a \\"b\\""`) // ['python3', '-u', 'my script.py', '--name', 'a "b"']
 */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  // A word can be empty ('' or ""), so "inside a word" is tracked apart from its text.
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (SPACE.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) throw new WordsError(`unterminated ' in "${text}"`);
      word += text.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new WordsError(`unterminated " in "${text}"`);
        const d = text[i]!;
        if (d === '"') break;
        if (d === '\\' && i + 1 < text.length && DOUBLE_QUOTED_ESCAPES.has(text[i + 1]!)) {
          word += text[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      i++;
    } else if (c === '\\') {
      if (i + 1 >= text.length) throw new WordsError(`"${text}" ends with a lone backslash`);
      word += text[i + 1];
      i += 2;
    } else {
      word += c;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** The inverse of splitWords: `splitWords(quoteWords(w))` equals `w` for any words. */
export function quoteWords(words: readonly string[]): string {
  return words.map((w) => (PLAIN_WORD.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`)).join(' ');
}
