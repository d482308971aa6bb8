// --cmd 'COMMAND ARGS' is split into words without a shell: quotes group, nothing is expanded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quoteWords, splitWords, WordsError } from '../../src/targets/command/words.js';

test('splits on spaces and keeps quoted spaces inside one word', () => {
  assert.deepEqual(splitWords(`  python3 -u 'my script.py'  --name "a \\"b\\"" x\\ y `), [
    'python3',
    '-u',
    'my script.py',
    '--name',
    'a "b"',
    'x y',
  ]);
});

test('expands nothing: variables, globs and pipes stay literal words', () => {
  assert.deepEqual(splitWords('echo $HOME * | cat > out'), ['echo', '$HOME', '*', '|', 'cat', '>', 'out']);
});

test("sh -c '...' is how a user asks for a shell", () => {
  assert.deepEqual(splitWords(`sh -c 'echo "$QUERY_STRING" | tr a-z A-Z'`), [
    'sh',
    '-c',
    'echo "$QUERY_STRING" | tr a-z A-Z',
  ]);
});

test('empty quoted words are words', () => {
  assert.deepEqual(splitWords(`printf '%s|' '' ""`), ['printf', '%s|', '', '']);
});

test('an unterminated quote or a trailing backslash is an error, not a guess', () => {
  assert.throws(() => splitWords(`echo 'oops`), WordsError);
  assert.throws(() => splitWords(`echo "oops`), WordsError);
  assert.throws(() => splitWords('echo oops\\'), WordsError);
});

test('quoteWords is the inverse of splitWords for any words', () => {
  const cases = [['a', 'b c', "it's", '', '"q"', '$X', 'back\\slash', 'tab\there', 'ünï', 'new\nline']];
  for (const words of cases) assert.deepEqual(splitWords(quoteWords(words)), words);
});
