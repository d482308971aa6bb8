/**
 * UTF-8 test texts in the spirit of the Autobahn WebSocket test suite (cases 6.x): each is a text message
 * cut into fragments (the payloads of its frames). Invalid ones must be refused with 1007 as soon as an
 * impossible byte is seen; valid ones relayed byte for byte.
 */

export interface Utf8Case {
  readonly name: string;
  /** The message's fragments, in order: one frame each (the last one final). */
  readonly fragments: readonly Buffer[];
}

const b = (...bytes: number[]) => Buffer.from(bytes);
const s = (text: string) => Buffer.from(text, 'utf8');
/** 'κόσμε', the Autobahn sample text. */
const KOSME = b(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5);

const single = (name: string, bytes: Buffer): Utf8Case => ({ name, fragments: [bytes] });

export const INVALID_UTF8: readonly Utf8Case[] = [
  // Lone continuation bytes.
  ...[0x80, 0xbf].map((x) => single(`lone continuation ${x.toString(16)}`, b(x))),
  single('two continuation bytes', b(0x80, 0xbf)),
  single('three continuation bytes', b(0x80, 0xbf, 0x80)),
  single('continuation after ascii', b(0x61, 0x80)),
  // Lead bytes followed by a space instead of continuation bytes.
  ...[0xc2, 0xdf, 0xe0, 0xe1, 0xef, 0xf0, 0xf1, 0xf4].map((x) =>
    single(`lead ${x.toString(16)} then space`, b(x, 0x20)),
  ),
  // Bytes that never appear in UTF-8.
  ...[0xc0, 0xc1, 0xf5, 0xf7, 0xf8, 0xfb, 0xfc, 0xfd, 0xfe, 0xff].map((x) =>
    single(`impossible byte ${x.toString(16)}`, b(x)),
  ),
  single('fe fe ff ff', b(0xfe, 0xfe, 0xff, 0xff)),
  // Sequences cut short at the end of the message.
  single('truncated 2-byte', b(0xc2)),
  single('truncated 3-byte (1 of 3)', b(0xe2)),
  single('truncated 3-byte (2 of 3)', b(0xe2, 0x82)),
  single('truncated 4-byte (3 of 4)', b(0xf0, 0x9f, 0x98)),
  single('truncated max code point', b(0xf4, 0x8f, 0xbf)),
  single('truncated after valid text', Buffer.concat([KOSME, b(0xe2, 0x82)])),
  // Overlong forms.
  single('overlong slash (2)', b(0xc0, 0xaf)),
  single('overlong slash (3)', b(0xe0, 0x80, 0xaf)),
  single('overlong slash (4)', b(0xf0, 0x80, 0x80, 0xaf)),
  single('overlong slash (5)', b(0xf8, 0x80, 0x80, 0x80, 0xaf)),
  single('overlong slash (6)', b(0xfc, 0x80, 0x80, 0x80, 0x80, 0xaf)),
  single('overlong max (2)', b(0xc1, 0xbf)),
  single('overlong max (3)', b(0xe0, 0x9f, 0xbf)),
  single('overlong max (4)', b(0xf0, 0x8f, 0xbf, 0xbf)),
  single('overlong NUL (2)', b(0xc0, 0x80)),
  single('overlong NUL (3)', b(0xe0, 0x80, 0x80)),
  single('overlong NUL (4)', b(0xf0, 0x80, 0x80, 0x80)),
  // UTF-16 surrogates, alone and paired.
  ...[0xa0, 0xad, 0xae, 0xaf, 0xb0, 0xbe, 0xbf].map((x) =>
    single(`surrogate ed ${x.toString(16)}`, b(0xed, x, 0x80)),
  ),
  single('surrogate pair D800 DC00', b(0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80)),
  single('surrogate pair DBFF DFFF', b(0xed, 0xaf, 0xbf, 0xed, 0xbf, 0xbf)),
  // Above U+10FFFF.
  single('U+110000', b(0xf4, 0x90, 0x80, 0x80)),
  single('U+13FFFF', b(0xf4, 0xbf, 0xbf, 0xbf)),
  single('f5 form', b(0xf5, 0x80, 0x80, 0x80)),
  single('f7 form', b(0xf7, 0xbf, 0xbf, 0xbf)),
  // Autobahn 6.3.1: valid text with a surrogate inside.
  single('kosme with a surrogate', Buffer.concat([KOSME, b(0xed, 0xa0, 0x80), s('edited')])),
  single('ascii then overlong', Buffer.concat([s('hello '), b(0xc0, 0xaf)])),
  single('valid 4-byte then bad continuation', b(0xf0, 0x9f, 0x98, 0x80, 0xf0, 0x9f, 0x28)),
  // Across fragments: the invalid byte is in a later fragment, or the message ends mid-character.
  { name: 'surrogate split across fragments', fragments: [b(0x61, 0xed), b(0xa0, 0x80)] },
  { name: 'overlong split across fragments', fragments: [b(0xe0), b(0x80, 0xaf)] },
  { name: 'above U+10FFFF split across fragments', fragments: [b(0xf4), b(0x90), b(0x80, 0x80)] },
  { name: 'bad continuation in the last fragment', fragments: [KOSME, b(0xe2, 0x82), b(0x28)] },
  { name: 'message ends mid-character, last fragment empty', fragments: [b(0xe2, 0x82), b()] },
  { name: 'message ends mid-character across fragments', fragments: [s('ab'), b(0xf0, 0x9f), b(0x98)] },
  { name: 'invalid second of three fragments', fragments: [s('one'), b(0xff), s('three')] },
  ...[0xc0, 0xed, 0xf5].map((x) => ({
    name: `invalid ${x.toString(16)} in the middle fragment of five`,
    fragments: [s('a'), s('b'), x === 0xed ? b(0xed, 0xa0, 0x80) : b(x), s('d'), s('e')],
  })),
];

export const VALID_UTF8: readonly Utf8Case[] = [
  single('empty', b()),
  single('ascii', s('hello, world')),
  single('kosme', KOSME),
  single('U+0000', b(0x00)),
  single('U+007F U+0080', b(0x7f, 0xc2, 0x80)),
  single('U+07FF U+0800', b(0xdf, 0xbf, 0xe0, 0xa0, 0x80)),
  single('U+D7FF U+E000 (around the surrogates)', b(0xed, 0x9f, 0xbf, 0xee, 0x80, 0x80)),
  single('U+FFFD U+FFFF', b(0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbf)),
  single('U+10000 U+10FFFF', b(0xf0, 0x90, 0x80, 0x80, 0xf4, 0x8f, 0xbf, 0xbf)),
  single('mixed widths', s('héllo wörld ☃ 🚀 ∑ 日本語')),
  {
    name: 'fragments cut inside characters',
    fragments: [b(0xf0), b(0x9f, 0x98), b(0x80, 0xe2), b(0x82, 0xac)],
  },
  { name: 'empty fragments between', fragments: [s('a'), b(), b(0xce), b(), b(0xba)] },
  { name: 'kosme one byte per fragment', fragments: [...KOSME].map((x) => b(x)) },
];
