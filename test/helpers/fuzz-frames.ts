/**
 * Random client frame sequences for the frame fuzz test, drawn from a seeded Prng: mostly well-formed
 * traffic (binary and text messages, fragmented or not, pings and pongs between fragments) with, in most
 * cases, one defect somewhere, then more traffic that must be ignored and a close or an EOF. Each defective
 * frame carries exactly one defect, so that the close code it deserves is not a matter of check order.
 * The verdict comes from fuzz-model.ts, not from here.
 */
import type { FrameSpec } from './fuzz-model.js';
import type { Prng } from './prng.js';

export interface GeneratorOptions {
  maxMessageBytes: number;
  /** Include text messages that are not UTF-8 (the bridge must close them with 1007). */
  invalidUtf8: boolean;
  /** Include 64-bit lengths with the most significant bit set (the bridge must close with 1002). */
  lengthMsb: boolean;
}

const UNKNOWN_OPCODES = [0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf];
const BAD_CLOSE_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535];
const GOOD_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999];
/** Characters of 1 to 4 UTF-8 bytes, so that fragment boundaries fall inside code points. */
const TEXT_CHARS = ['a', 'z', ' ', '~', 'é', 'ß', 'Ж', '€', '中', '\u{fffd}', '😀', '\u{10ffff}'];
/** Byte sequences that are never UTF-8: stray continuation, overlong, surrogate, beyond U+10FFFF, bad lead. */
const BAD_UTF8 = [
  [0x80],
  [0xc0, 0x80],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0x80],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf5],
  [0xff],
  [0xc3, 0x28],
];
/** Sequences cut short: UTF-8 only if more follows, so invalid at the end of a message. */
const TRUNCATED_UTF8 = [[0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98]];

function frame(opcode: number, payload: Buffer, fin = true): FrameSpec {
  return { fin, rsv: 0, masked: true, opcode, payload };
}

function text(rng: Prng, maxChars: number): Buffer {
  let out = '';
  const n = rng.int(0, maxChars);
  for (let i = 0; i < n; i++) out += rng.pick(TEXT_CHARS);
  return Buffer.from(out);
}

/** Cuts `payload` into 1-4 pieces at random byte offsets (inside code points too). */
function cut(rng: Prng, payload: Buffer): Buffer[] {
  const pieces = rng.int(1, 4);
  const points = Array.from({ length: pieces - 1 }, () => rng.int(0, payload.length)).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(payload.subarray(from, p));
    from = p;
  }
  out.push(payload.subarray(from));
  return out;
}

/** A message's payload size: mostly small, sometimes past 125 (16-bit length), rarely near the limit. */
function size(rng: Prng, max: number): number {
  const r = rng.next();
  if (r < 0.6) return rng.int(0, 125);
  if (r < 0.95) return rng.int(126, Math.min(2000, max));
  return rng.int(Math.floor(max / 2), max);
}

/** A message as frames, with pings and pongs sometimes slipped in between its fragments. */
function message(rng: Prng, opcode: number, payload: Buffer): FrameSpec[] {
  const out: FrameSpec[] = [];
  const pieces = rng.chance(0.5) ? [payload] : cut(rng, payload);
  for (const [i, piece] of pieces.entries()) {
    if (i > 0 && rng.chance(0.2)) out.push(frame(rng.pick([0x9, 0xa]), rng.bytes(rng.int(0, 125))));
    out.push(frame(i === 0 ? opcode : 0x0, piece, i === pieces.length - 1));
  }
  return out;
}

function goodTraffic(rng: Prng, o: GeneratorOptions): FrameSpec[] {
  const r = rng.next();
  if (r < 0.45) return message(rng, 0x2, rng.bytes(size(rng, o.maxMessageBytes)));
  if (r < 0.8) return message(rng, 0x1, text(rng, 200));
  return [frame(rng.pick([0x9, 0xa]), rng.bytes(rng.int(0, 125)))];
}

/** One frame (or a short run ending in one) that breaks exactly one rule. */
function defect(rng: Prng, o: GeneratorOptions): FrameSpec[] {
  const kinds = [
    'rsv',
    'unmasked',
    'opcode',
    'fragmented-control',
    'long-control',
    'orphan-continuation',
    'data-inside-message',
    'close-1-byte',
    'close-bad-code',
    'close-bad-reason',
    'oversize-frame',
    'oversize-message',
    ...(o.lengthMsb ? ['length-msb'] : []),
    ...(o.invalidUtf8 ? ['text-bad-utf8', 'text-truncated-utf8'] : []),
  ];
  const kind = rng.pick(kinds);
  const small = rng.bytes(rng.int(0, 60));
  switch (kind) {
    case 'rsv':
      return [
        {
          ...frame(rng.pick([0x1, 0x2, 0x8, 0x9]), Buffer.alloc(0)),
          rsv: rng.pick([0x10, 0x20, 0x40, 0x70]),
        },
      ];
    case 'unmasked':
      return [{ ...frame(rng.pick([0x2, 0x9, 0x8]), small), masked: false }];
    case 'opcode':
      return [frame(rng.pick(UNKNOWN_OPCODES), small)];
    case 'fragmented-control':
      return [frame(rng.pick([0x8, 0x9, 0xa]), small, false)];
    case 'long-control':
      return [frame(rng.pick([0x8, 0x9, 0xa]), rng.bytes(rng.int(126, 300)))];
    case 'orphan-continuation':
      return [frame(0x0, small, rng.chance(0.5))];
    case 'data-inside-message':
      return [frame(0x2, small, false), frame(rng.pick([0x1, 0x2]), Buffer.from('x'), rng.chance(0.5))];
    case 'close-1-byte':
      return [frame(0x8, rng.bytes(1))];
    case 'close-bad-code': {
      const p = Buffer.alloc(2);
      p.writeUInt16BE(rng.pick(BAD_CLOSE_CODES));
      return [frame(0x8, p)];
    }
    case 'close-bad-reason': {
      const p = Buffer.alloc(2);
      p.writeUInt16BE(rng.pick(GOOD_CLOSE_CODES));
      return [frame(0x8, Buffer.concat([p, Buffer.from('ok'), Buffer.from(rng.pick(BAD_UTF8))]))];
    }
    case 'oversize-frame': {
      // Only the header is sent: the bridge must refuse it before any payload arrives.
      const declared =
        BigInt(o.maxMessageBytes + rng.int(1, 3)) + (rng.chance(0.3) ? 1n << BigInt(rng.int(20, 62)) : 0n);
      return [{ ...frame(rng.pick([0x1, 0x2]), Buffer.alloc(0)), declaredLength: declared }];
    }
    case 'oversize-message': {
      const first = rng.int(Math.floor(o.maxMessageBytes / 2), o.maxMessageBytes);
      const second = o.maxMessageBytes - first + rng.int(1, 10);
      return [
        frame(0x2, rng.bytes(first), false),
        { ...frame(0x0, Buffer.alloc(0)), declaredLength: BigInt(second) },
      ];
    }
    case 'length-msb':
      return [
        {
          ...frame(rng.pick([0x1, 0x2]), Buffer.alloc(0)),
          declaredLength: (1n << 63n) + BigInt(rng.int(0, 1000)),
        },
      ];
    case 'text-bad-utf8': {
      const payload = Buffer.concat([text(rng, 20), Buffer.from(rng.pick(BAD_UTF8)), text(rng, 20)]);
      return message(rng, 0x1, payload);
    }
    default: {
      const payload = Buffer.concat([text(rng, 20), Buffer.from(rng.pick(TRUNCATED_UTF8))]);
      return message(rng, 0x1, payload);
    }
  }
}

function closeFrame(rng: Prng): FrameSpec {
  if (rng.chance(0.2)) return frame(0x8, Buffer.alloc(0));
  const p = Buffer.alloc(2);
  p.writeUInt16BE(rng.pick(GOOD_CLOSE_CODES));
  let reason = text(rng, 30);
  if (reason.length > 123) reason = Buffer.from('bye');
  return frame(0x8, Buffer.concat([p, reason]));
}

/** The frames of one case: traffic, usually a defect, more traffic, usually a close. */
export function generateFrames(rng: Prng, o: GeneratorOptions): FrameSpec[] {
  const frames: FrameSpec[] = [];
  const before = rng.int(0, 4);
  for (let i = 0; i < before; i++) frames.push(...goodTraffic(rng, o));
  if (rng.chance(0.8)) frames.push(...defect(rng, o));
  const after = rng.int(0, 2);
  for (let i = 0; i < after; i++) frames.push(...goodTraffic(rng, o));
  if (rng.chance(0.85)) frames.push(closeFrame(rng));
  return frames;
}

/** A frame's bytes on the wire, masked with a key from `rng` (the header says `declaredLength`). */
export function encodeFrame(rng: Prng, f: FrameSpec): Buffer {
  const length = f.declaredLength ?? BigInt(f.payload.length);
  const extended = length < 126n ? 0 : length < 0x10000n ? 2 : 8;
  const header = Buffer.alloc(2 + extended + (f.masked ? 4 : 0));
  header[0] = (f.fin ? 0x80 : 0) | f.rsv | f.opcode;
  header[1] = (f.masked ? 0x80 : 0) | (extended === 0 ? Number(length) : extended === 2 ? 126 : 127);
  if (extended === 2) header.writeUInt16BE(Number(length), 2);
  if (extended === 8) header.writeBigUInt64BE(length, 2);
  if (!f.masked) return Buffer.concat([header, f.payload]);
  const mask = rng.bytes(4);
  mask.copy(header, 2 + extended);
  const body = Buffer.allocUnsafe(f.payload.length);
  for (let i = 0; i < body.length; i++) body[i] = (f.payload[i] as number) ^ (mask[i & 3] as number);
  return Buffer.concat([header, body]);
}

/** The wire cut into writes: one, a handful at random points, or the first bytes dribbled one at a time. */
export function splitWrites(rng: Prng, wire: Buffer): Buffer[] {
  const r = rng.next();
  if (r < 0.25 || wire.length < 2) return [wire];
  if (r < 0.4) {
    const dribble = Math.min(wire.length, rng.int(1, 40));
    return [...Array.from({ length: dribble }, (_, i) => wire.subarray(i, i + 1)), wire.subarray(dribble)];
  }
  const cuts = Array.from({ length: rng.int(1, 12) }, () => rng.int(1, wire.length - 1)).sort(
    (a, b) => a - b,
  );
  const out: Buffer[] = [];
  let from = 0;
  for (const c of cuts) {
    if (c > from) out.push(wire.subarray(from, c));
    from = Math.max(from, c);
  }
  out.push(wire.subarray(from));
  return out;
}

/** A readable one-line account of a case, printed with a failure. */
export function describeFrames(frames: readonly FrameSpec[]): string {
  return frames
    .map((f) => {
      const flags = `${f.fin ? '' : '!fin '}${f.rsv ? `rsv=${f.rsv.toString(16)} ` : ''}${f.masked ? '' : 'unmasked '}`;
      const len = f.declaredLength !== undefined ? `declared=${f.declaredLength} ` : '';
      return `[op=${f.opcode.toString(16)} ${flags}${len}${f.payload.length}B ${f.payload.subarray(0, 8).toString('hex')}]`;
    })
    .join(' ');
}
