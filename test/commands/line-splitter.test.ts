// Text mode turns a program's output into lines: websocketd's trimEOL, plus a bound on memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineSplitter } from '../../src/targets/command/line-splitter.js';

function split(chunks: string[], max = 1024): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter(max);
  const emit = (line: Buffer) => lines.push(line.toString('utf8'));
  for (const chunk of chunks) splitter.push(Buffer.from(chunk), emit);
  splitter.flush(emit);
  return lines;
}

test('lines lose \\n and \\r\\n; empty lines are messages too', () => {
  assert.deepEqual(split(['a\nb\r\n\nc\n']), ['a', 'b', '', 'c']);
});

test('a line split across reads is joined, also when \\r and \\n arrive apart', () => {
  assert.deepEqual(split(['hel', 'lo wo', 'rld\r', '\nnext\n']), ['hello world', 'next']);
});

test('a last line without a newline is delivered at end of output (websocketd drops it)', () => {
  assert.deepEqual(split(['one\ntwo']), ['one', 'two']);
});

test('a lone \\r inside a line is kept', () => {
  assert.deepEqual(split(['a\rb\n']), ['a\rb']);
});

test('a line longer than the limit comes in pieces, never cutting a UTF-8 character', () => {
  // 'é' is two bytes: with a limit of 4 bytes, "aéé" (5 bytes) must become "aé" + "é..." and not cut an 'é'.
  const lines = split(['aéééé', 'z\n'], 4);
  assert.deepEqual(lines, ['aé', 'éé', 'éz']);
  for (const line of lines) assert.ok(Buffer.byteLength(line) <= 4);
});

test('memory stays bounded for output that never has a newline', () => {
  const splitter = new LineSplitter(64 * 1024);
  let pieces = 0;
  let bytes = 0;
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  for (let i = 0; i < 256; i++) {
    splitter.push(chunk, (line) => {
      pieces++;
      bytes += line.length;
      assert.ok(line.length <= 64 * 1024);
    });
  }
  splitter.flush((line) => {
    bytes += line.length;
  });
  assert.equal(bytes, 256 * 16 * 1024);
  assert.ok(pieces >= 63);
});
