// Message boundaries for line-oriented targets (the target seam's messageEnd): once asked, the parser says
// where each client message ends, after all of its payload (also payload it gathers from small frames),
// however the frames are cut into reads; without being asked it never does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameParser, type FrameSink } from '../../src/websocket/frame-parser.js';
import { clientFrame } from '../helpers/frames.js';

const TEXT = 0x1;
const BINARY = 0x2;
const CONTINUATION = 0x0;
const PING = 0x9;

/** Rebuilds messages from the sink's calls: payload bytes accumulate until messageEnd closes one. */
class Messages implements FrameSink {
  done: string[] = [];
  private current: Buffer[] = [];
  ends = 0;
  frameData(data: Buffer): void {
    this.current.push(Buffer.from(data));
  }
  messageEnd(): void {
    this.ends++;
    this.done.push(Buffer.concat(this.current).toString());
    this.current = [];
  }
  controlFrame(): void {}
  frameError(code: number, message: string): void {
    assert.fail(`unexpected frame error ${code}: ${message}`);
  }
}

const big = 'x'.repeat(70_000);
const stream = Buffer.concat([
  clientFrame(TEXT, Buffer.from('one')),
  clientFrame(TEXT, Buffer.from('tw'), { fin: false }),
  clientFrame(PING, Buffer.from('p')),
  clientFrame(CONTINUATION, Buffer.from('o'), { fin: false }),
  clientFrame(CONTINUATION, Buffer.alloc(0)),
  clientFrame(TEXT, Buffer.alloc(0)),
  clientFrame(BINARY, Buffer.from(big)),
  clientFrame(TEXT, Buffer.from('a')),
  clientFrame(TEXT, Buffer.from('b')),
]);
const EXPECTED = ['one', 'two', '', big, 'a', 'b'];

function parse(reads: number[], report: boolean): Messages {
  const sink = new Messages();
  const parser = new FrameParser(sink, 1 << 20);
  if (report) parser.reportMessageEnds();
  const copy = Buffer.from(stream); // the parser unmasks in place
  for (let at = 0, i = 0; at < copy.length; i++) {
    const n = reads[i % reads.length] as number;
    parser.push(copy.subarray(at, at + n));
    at += n;
  }
  return sink;
}

test('each message ends after all its payload, whatever the reads', () => {
  for (const reads of [[stream.length], [1], [3, 7], [5, 1000, 2]]) {
    assert.deepEqual(parse(reads, true).done, EXPECTED, `reads of ${reads.join(',')} bytes`);
  }
});

test('without reportMessageEnds the parser never calls messageEnd', () => {
  assert.equal(parse([stream.length], false).ends, 0);
  assert.equal(parse([1], false).ends, 0);
});
