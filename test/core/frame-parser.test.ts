// The parser of client frames on its own: every way a stream of frames can be cut into reads gives the same
// payload bytes and control frames, and each rule of RFC 6455 that a client can break is caught with its code.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { FrameParser, type FrameSink } from '../../src/websocket/frame-parser.js';
import { nativeUnmask } from '../../src/websocket/unmask.js';
import { clientFrame, closePayload } from '../helpers/frames.js';
import { INVALID_UTF8, type Utf8Case, VALID_UTF8 } from '../helpers/utf8-cases.js';

class Collector implements FrameSink {
  data: Buffer[] = [];
  controls: { opcode: number; payload: string }[] = [];
  errors: { code: number; message: string }[] = [];
  frameData(data: Buffer): void {
    this.data.push(Buffer.from(data));
  }
  controlFrame(opcode: number, payload: Buffer): void {
    this.controls.push({ opcode, payload: payload.toString('hex') });
  }
  frameError(code: number, message: string): void {
    this.errors.push({ code, message });
  }
  get bytes(): Buffer {
    return Buffer.concat(this.data);
  }
}

/** Feeds `stream` to a fresh parser in reads of the given sizes (cycled). */
function parse(stream: Buffer, reads: number[], maxMessageBytes = 1 << 20): Collector {
  const sink = new Collector();
  const parser = new FrameParser(sink, maxMessageBytes);
  const copy = Buffer.from(stream); // the parser unmasks in place
  for (let at = 0, i = 0; at < copy.length; i++) {
    const n = reads[i % reads.length] as number;
    parser.push(copy.subarray(at, at + n));
    at += n;
  }
  return sink;
}

/** The frames of a text message made of the case's fragments. */
function utf8Message(c: Utf8Case): Buffer {
  const last = c.fragments.length - 1;
  return Buffer.concat(c.fragments.map((p, i) => clientFrame(i === 0 ? 0x1 : 0x0, p, { fin: i === last })));
}

const sizes = [0, 1, 3, 125, 126, 127, 1000, 65535, 65536, 70001];
/** Text of exactly `size` bytes, with characters of every width (so that reads cut them). */
function text(size: number): Buffer {
  const chars = ['a', 'é', '€', '😀'];
  let out = '';
  for (let i = 0; Buffer.byteLength(out) < size - 3; i++) out += chars[i % chars.length];
  return Buffer.from(out.padEnd(out.length + size - Buffer.byteLength(out), 'z'));
}
// Odd-numbered frames are text, so they must hold valid UTF-8.
const payloads = sizes.map((size, i) => (i % 2 ? text(size) : randomBytes(size)));
const PING = Buffer.from('are you there');
const stream = Buffer.concat([
  ...payloads.map((p, i) => clientFrame(i % 2 ? 0x1 : 0x2, p)),
  // A fragmented message with a ping between its fragments.
  clientFrame(0x2, payloads[6] as Buffer, { fin: false }),
  clientFrame(0x9, PING),
  clientFrame(0x0, payloads[7] as Buffer, { fin: false }),
  clientFrame(0x0, payloads[1] as Buffer),
  clientFrame(0x8, closePayload(1000, 'bye')),
  clientFrame(0x2, Buffer.from('after close: ignored')),
]);
const expected = Buffer.concat([...payloads, payloads[6], payloads[7], payloads[1]] as Buffer[]);

test('payload and control frames come out the same however the stream is cut into reads', () => {
  for (const reads of [
    [stream.length],
    [1],
    [2],
    [3],
    [7],
    [13],
    [125],
    [4096],
    [65536],
    [1, 14, 200, 9999],
  ]) {
    const sink = parse(stream, reads);
    assert.deepEqual(sink.errors, [], `reads of ${reads}`);
    assert.ok(sink.bytes.equals(expected), `payload bytes differ with reads of ${reads}`);
    assert.deepEqual(
      sink.controls,
      [
        { opcode: 0x9, payload: PING.toString('hex') },
        { opcode: 0x8, payload: closePayload(1000, 'bye').toString('hex') },
      ],
      `reads of ${reads}`,
    );
  }
});

test('a frame split at every possible byte boundary is delivered intact', () => {
  const frame = Buffer.concat([clientFrame(0x2, payloads[8] as Buffer), clientFrame(0xa, Buffer.from('p'))]);
  for (let cut = 1; cut < frame.length; cut += cut < 300 ? 1 : 997) {
    const sink = parse(frame, [cut, frame.length]);
    assert.ok(sink.bytes.equals(payloads[8] as Buffer), `cut at ${cut}`);
    assert.deepEqual(sink.controls, [{ opcode: 0xa, payload: '70' }], `cut at ${cut}`);
  }
});

test('each protocol violation stops the parser with 1002, and the size limit with 1009', () => {
  const cases: [string, Buffer, number, RegExp][] = [
    ['unmasked frame', clientFrame(0x2, Buffer.from('x'), { masked: false }), 1002, /masked/],
    ['RSV1 without an extension', clientFrame(0x2, Buffer.from('x'), { rsv: 0x40 }), 1002, /reserved/],
    ['unknown data opcode', clientFrame(0x3, Buffer.from('x')), 1002, /opcode 3/],
    ['unknown control opcode', clientFrame(0xb, Buffer.from('x')), 1002, /opcode 11/],
    ['continuation without a message', clientFrame(0x0, Buffer.from('x')), 1002, /continuation/],
    [
      'new message inside a fragmented one',
      Buffer.concat([clientFrame(0x2, Buffer.from('a'), { fin: false }), clientFrame(0x2, Buffer.from('b'))]),
      1002,
      /previous one/,
    ],
    ['fragmented ping', clientFrame(0x9, Buffer.from('x'), { fin: false }), 1002, /fragmented/],
    ['ping over 125 bytes', clientFrame(0x9, Buffer.alloc(126)), 1002, /125/],
    ['single frame over the limit', clientFrame(0x2, Buffer.alloc(1001)), 1009, /1000-byte limit/],
    [
      'fragments adding up over the limit',
      Buffer.concat([
        clientFrame(0x2, Buffer.alloc(600), { fin: false }),
        clientFrame(0x0, Buffer.alloc(600)),
      ]),
      1009,
      /limit/,
    ],
  ];
  for (const [name, bytes, code, message] of cases) {
    const sink = parse(
      Buffer.concat([bytes, clientFrame(0x2, Buffer.from('more'))]),
      [bytes.length + 100],
      1000,
    );
    assert.equal(sink.errors.length, 1, name);
    assert.equal(sink.errors[0]?.code, code, name);
    assert.match(sink.errors[0]?.message ?? '', message, name);
    assert.ok(!sink.bytes.includes('more'), `${name}: nothing after the violation is parsed`);
  }
  // The oversize frame itself is refused before any of it is passed on; earlier fragments were.
  const sink = parse(
    Buffer.concat([
      clientFrame(0x2, Buffer.alloc(600, 1), { fin: false }),
      clientFrame(0x0, Buffer.alloc(600, 2)),
    ]),
    [1],
    1000,
  );
  assert.equal(sink.bytes.length, 600);
  assert.ok(!sink.bytes.includes(2));
});

test('64-bit lengths beyond 2^53 are refused with 1009, not misread', () => {
  const header = Buffer.from([0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 2, 3, 4]);
  const sink = parse(header, [header.length], Number.MAX_SAFE_INTEGER);
  assert.deepEqual(
    sink.errors.map((e) => e.code),
    [1009],
  );
});

// RFC 6455 section 5.2: a 64-bit length whose most significant bit is set is a protocol error, not a size.
test('64-bit lengths with the most significant bit set are refused with 1002', () => {
  const header = Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]);
  const sink = parse(header, [header.length], Number.MAX_SAFE_INTEGER);
  assert.deepEqual(
    sink.errors.map((e) => e.code),
    [1002],
  );
});

test('bufferutil native unmasking loads on linux-x64 without install scripts', (t) => {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    t.skip(`bufferutil ships prebuilt binaries for linux-x64; this is ${process.platform}-${process.arch}`);
    return;
  }
  assert.equal(nativeUnmask, true);
});

test('text is checked as UTF-8 however it is cut into reads: invalid fails with 1007, valid passes intact', () => {
  for (const reads of [[1], [2], [3], [7], [1 << 20]]) {
    for (const c of INVALID_UTF8) {
      const sink = parse(utf8Message(c), reads);
      assert.deepEqual(
        sink.errors.map((e) => e.code),
        [1007],
        `${c.name}, reads of ${reads}`,
      );
    }
    for (const c of VALID_UTF8) {
      const sink = parse(utf8Message(c), reads);
      assert.deepEqual(sink.errors, [], `${c.name}, reads of ${reads}`);
      assert.ok(sink.bytes.equals(Buffer.concat(c.fragments)), `${c.name}, reads of ${reads}`);
    }
  }
});

test('without the UTF-8 check, invalid text passes as its bytes', () => {
  const sink = new Collector();
  const parser = new FrameParser(sink, 1 << 20, false);
  for (const c of INVALID_UTF8) parser.push(utf8Message(c));
  assert.deepEqual(sink.errors, []);
  assert.ok(sink.bytes.equals(Buffer.concat(INVALID_UTF8.flatMap((c) => c.fragments))));
});

// Each tiny frame used to become its own write to the target (millions of queued writes for a flood of
// 1-byte frames); 64 KiB frames must still be handed on where they were read, without a copy.
test('the small frames of one read come out as one piece; large frames stay in the read buffer', () => {
  const tiny = Buffer.concat(
    Array.from({ length: 1000 }, (_, i) => clientFrame(0x2, Buffer.from([i & 0xff]))),
  );
  const sink = parse(tiny, [tiny.length]);
  assert.equal(sink.data.length, 1);
  assert.ok(sink.bytes.equals(Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff))));

  const big = randomBytes(65536);
  const read = Buffer.concat([clientFrame(0x2, big), clientFrame(0x2, big)]);
  const pieces: Buffer[] = [];
  const parser = new FrameParser(
    { frameData: (data) => pieces.push(data), controlFrame: () => {}, frameError: () => {} },
    1 << 20,
  );
  parser.push(read);
  assert.equal(pieces.length, 2);
  for (const piece of pieces) {
    assert.equal(piece.buffer, read.buffer, 'a 64 KiB frame is not copied');
    assert.ok(piece.equals(big));
  }
});
